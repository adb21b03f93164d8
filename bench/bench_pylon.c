/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench_pylon: the pylontech sink answering an inverter's polls on a pty.
 * Figures: the time from the request's last byte to the reply's last byte
 * as the sink makes it (median and worst of 0x42 and 0x92 polls), the same
 * with the bytes' time on the wire added at 9600 and 115200 baud (a pty
 * has no baud rate: 10 bits per byte, 8N1), and the CPU per answered poll
 * (the sink's thread and this bench's client in one process). Inverters
 * wait about a second (python-pylontech: 2 s). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>

#include "bench_util.h"
#include "core/record.h"
#include "testhost.h"

#define POLLS 400

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Send `req`, read up to CR; the reply's length, or -1. */
static int ask(int fd, const char *req, char *reply, size_t cap, double *took)
{
    size_t n = 0;
    double t0;

    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
        return -1;
    t0 = bench_now();
    while (n < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t r;
        if (poll(&p, 1, 2000) <= 0)
            return -1;
        r = read(fd, reply + n, cap - n);
        if (r <= 0)
            return -1;
        n += (size_t)r;
        if (reply[n - 1] == '\r')
            break;
    }
    *took = bench_now() - t0;
    return (int)n;
}

int main(void)
{
    static const double cells[16] = {3.30, 3.31, 3.30, 3.29, 3.30, 3.31, 3.30, 3.30,
                                     3.30, 3.31, 3.30, 3.29, 3.30, 3.31, 3.30, 3.30};
    static const double temps[2] = {21.0, 22.0};
    const char *reqs[2] = {"~20024642E00202FD33\r", "~20024692E00202FD2E\r"};
    double lat[POLLS], cpu0, cpu1;
    size_t bytes[2] = {0, 0};
    char settings[512], reply[1024];
    int master, slave;
    struct testhost *t;
    collector_record *r;
    struct termios tio;

    if (openpty(&master, &slave, NULL, NULL, NULL) != 0) {
        perror("bench_pylon: openpty");
        return 1;
    }
    cfmakeraw(&tio);
    tcgetattr(master, &tio);
    cfmakeraw(&tio);
    tcsetattr(master, TCSANOW, &tio);
    snprintf(settings, sizeof(settings), "link = \"rs485\"; device = \"%s\"; source = \"b1\";",
             ttyname(slave));
    if (testhost_open_ex("pylontech", "pylontech", 0, settings, &t) != 0) {
        fprintf(stderr, "bench_pylon: %s\n", testhost_last_log());
        return 1;
    }
    if (record_new("b1", testhost_api(t)->time_ns(testhost_handle(t), COLLECTOR_CLOCK_REALTIME), &r) != 0)
        return 1;
    record_set_interval_ms(r, 3600 * 1000);
    record_set_doubles(r, "cells", cells, 16);
    record_set_doubles(r, "temperatures", temps, 2);
    record_set_double(r, "mos_temperature", 25.0);
    record_set_double(r, "battery_voltage", 52.8);
    record_set_double(r, "battery_current", -12.5);
    record_set_double(r, "capacity_remaining_ah", 196.0);
    record_set_double(r, "capacity_nominal_ah", 280.0);
    record_set_double(r, "charge_voltage_limit_v", 55.2);
    record_set_double(r, "discharge_voltage_limit_v", 48.0);
    record_set_double(r, "charge_current_limit_a", 100.0);
    record_set_double(r, "discharge_current_limit_a", 100.0);
    record_set_bool(r, "charge_enable", 1);
    record_set_bool(r, "discharge_enable", 1);
    testhost_write(t, r);
    record_free(r);

    for (int i = 0; i < 20; i++) { /* warm up */
        double d;
        ask(master, reqs[i % 2], reply, sizeof(reply), &d);
    }
    cpu0 = cpu_s();
    for (int i = 0; i < POLLS; i++) {
        int n = ask(master, reqs[i % 2], reply, sizeof(reply), &lat[i]);
        if (n < 0) {
            fprintf(stderr, "bench_pylon: poll %d not answered\n", i);
            return 1;
        }
        bytes[i % 2] = (size_t)n;
    }
    cpu1 = cpu_s();
    testhost_close(t);
    close(master);
    close(slave);
    qsort(lat, POLLS, sizeof(lat[0]), cmp_double);
    printf("{\"bench\": \"pylon_reply_latency_median\", \"value\": %.1f, \"unit\": \"us\"}\n",
           lat[POLLS / 2] * 1e6);
    printf("{\"bench\": \"pylon_reply_latency_max\", \"value\": %.1f, \"unit\": \"us\"}\n",
           lat[POLLS - 1] * 1e6);
    for (int b = 0; b < 2; b++) {
        long baud = b == 0 ? 9600 : 115200;
        /* the 0x42 exchange is the longest an inverter makes */
        double wire = (double)(strlen(reqs[0]) + bytes[0]) * 10.0 / (double)baud;
        printf("{\"bench\": \"pylon_0x42_request_to_last_byte_%ld\", \"value\": %.1f, "
               "\"unit\": \"ms\"}\n",
               baud, (wire + lat[POLLS / 2]) * 1e3);
    }
    printf("{\"bench\": \"pylon_cpu_per_poll\", \"value\": %.1f, \"unit\": \"us\"}\n",
           (cpu1 - cpu0) / POLLS * 1e6);
    return 0;
}
