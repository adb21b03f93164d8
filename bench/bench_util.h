/* Helpers the benches share: a clock, /proc figures, a local mosquitto. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static inline double bench_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        perror("bench: clock_gettime");
        exit(1);
    }
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The sum of the "key: N kB" lines of a /proc file (pid 0: this process):
 * status for VmHWM, smaps_rollup for Pss or Private_*. -1 when unreadable. */
static inline long bench_proc_kb(pid_t pid, const char *file, const char *key)
{
    char path[64], line[256];
    size_t klen = strlen(key);
    long v = -1;
    FILE *fp;

    if (pid == 0)
        snprintf(path, sizeof(path), "/proc/self/%s", file);
    else
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    fp = fopen(path, "r");
    while (fp && fgets(line, sizeof(line), fp))
        if (strncmp(line, key, klen) == 0 && line[klen] == ':')
            v = (v < 0 ? 0 : v) + strtol(line + klen + 1, NULL, 10);
    if (fp)
        fclose(fp);
    return v;
}

static inline int bench_port_open(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

/* mosquitto on 127.0.0.1:port with its config in dir; its pid, or -1. */
static inline pid_t bench_start_mosquitto(const char *dir, int port)
{
    const char *bin = getenv("MOSQUITTO_BIN") && *getenv("MOSQUITTO_BIN") ? getenv("MOSQUITTO_BIN")
                                                                         : "/usr/sbin/mosquitto";
    char conf[512];
    pid_t pid;
    FILE *fp;

    snprintf(conf, sizeof(conf), "%s/mosquitto.conf", dir);
    if ((fp = fopen(conf, "w")) == NULL)
        return -1;
    fprintf(fp, "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
                "max_queued_messages 0\nlog_dest none\n", port);
    fclose(fp);
    pid = fork();
    if (pid == 0) {
        execl(bin, bin, "-c", conf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100 && pid > 0 && !bench_port_open(port); i++)
        usleep(50000);
    return pid;
}

#endif
