/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers the benches share: a clock, /proc figures, a local mosquitto,
 * instruction counts from callgrind. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
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

/* 1 if valgrind runs here (the instruction figures need it). */
static inline int bench_have_valgrind(void)
{
    return system("valgrind --version >/dev/null 2>&1") == 0;
}

/* Start argv (argv[0] a path) under callgrind with its output in out_file
 * and its stderr in err_file (NULL: /dev/null); its pid, or -1. */
static inline pid_t bench_callgrind_start(char *const argv[], const char *out_file,
                                          const char *err_file)
{
    char opt[600], valgrind[] = "valgrind", tool[] = "--tool=callgrind";
    char *vargv[64];
    size_t n = 0;
    pid_t pid;

    snprintf(opt, sizeof(opt), "--callgrind-out-file=%s", out_file);
    vargv[n++] = valgrind;
    vargv[n++] = tool;
    vargv[n++] = opt;
    for (size_t i = 0; argv[i] != NULL && n + 1 < sizeof(vargv) / sizeof(vargv[0]); i++)
        vargv[n++] = argv[i];
    vargv[n] = NULL;
    pid = fork();
    if (pid == 0) {
        int fd = open(err_file ? err_file : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0)
            dup2(fd, STDERR_FILENO);
        execvp(vargv[0], vargv);
        _exit(127);
    }
    return pid;
}

/* Wait for it to end (stop it first with `sig`, 0 for none); the
 * instructions it executed in all its threads (callgrind's "summary:"), or -1. */
static inline long long bench_callgrind_finish(pid_t pid, int sig, const char *out_file)
{
    char line[256];
    long long ir = -1;
    FILE *fp;

    if (pid <= 0)
        return -1;
    if (sig != 0)
        kill(pid, sig);
    if (waitpid(pid, NULL, 0) != pid)
        return -1;
    fp = fopen(out_file, "r");
    while (fp && fgets(line, sizeof(line), fp))
        if (strncmp(line, "summary: ", 9) == 0)
            ir = strtoll(line + 9, NULL, 10);
    if (fp)
        fclose(fp);
    return ir;
}

static inline void bench_sleep(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* influxd on 127.0.0.1:port (RPC on rpc_port), data and config in dir; its
 * pid once /ping answers, or -1. */
static inline pid_t bench_start_influxd(const char *dir, int port, int rpc_port)
{
    const char *bin = getenv("INFLUXD_BIN") && *getenv("INFLUXD_BIN") &&
                              strcmp(getenv("INFLUXD_BIN"), "no") != 0
                          ? getenv("INFLUXD_BIN")
                          : "/usr/bin/influxd";
    char conf[512];
    pid_t pid;
    FILE *fp;

    snprintf(conf, sizeof(conf), "%s/influxd.conf", dir);
    if ((fp = fopen(conf, "w")) == NULL)
        return -1;
    fprintf(fp,
            "reporting-disabled = true\nbind-address = \"127.0.0.1:%d\"\n"
            "[meta]\n  dir = \"%s/meta\"\n  logging-enabled = false\n"
            "[data]\n  dir = \"%s/data\"\n  wal-dir = \"%s/wal\"\n  query-log-enabled = false\n"
            "[monitor]\n  store-enabled = false\n"
            "[http]\n  bind-address = \"127.0.0.1:%d\"\n  log-enabled = false\n",
            rpc_port, dir, dir, dir, port);
    fclose(fp);
    pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execl(bin, bin, "-config", conf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 300 && pid > 0 && !bench_port_open(port); i++)
        usleep(50000);
    return pid;
}

/* Send one raw HTTP request to 127.0.0.1:port and read the answer (NUL-terminated). */
static inline void bench_http(int port, const char *request, char *answer, size_t size)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    size_t got = 0;
    ssize_t n;

    answer[0] = '\0';
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        write(fd, request, strlen(request)) == (ssize_t)strlen(request))
        while (got + 1 < size && (n = read(fd, answer + got, size - 1 - got)) > 0)
            got += (size_t)n;
    answer[got] = '\0';
    close(fd);
}

/* rm -rf dir (a temp dir of the bench's own). */
static inline void bench_rmtree(const char *dir)
{
    pid_t pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", dir, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

#endif
