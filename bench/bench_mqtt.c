/* SPDX-License-Identifier: GPL-2.0-or-later */
/* make bench: records published per second by the mqtt sink to a local
 * mosquitto (started here on 127.0.0.1) at QoS 0 and 1, and the memory of
 * the process while the broker is away (the sink says -EAGAIN and keeps
 * nothing: the host's bounded queue holds the records, outside this figure). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/record.h"
#include "testhost.h"
#include "bench_util.h"

static collector_record *sample(void)
{
    static const double cells[16] = {3.246, 3.230, 3.226, 3.231, 3.233, 3.231, 3.232, 3.232,
                                     3.225, 3.232, 3.216, 3.225, 3.237, 3.231, 3.225, 3.242};
    collector_record *r;
    record_new("battery1", (int64_t)time(NULL) * 1000000000, &r);
    record_set_device(r, "C8:47:8C:00:00:01");
    record_set_doubles(r, "cells", cells, 16);
    record_set_double(r, "battery_voltage", 51.689);
    record_set_double(r, "battery_current", -3.2);
    record_set_double(r, "battery_soc", 46.0);
    record_set_int(r, "bms_cell_count", 16);
    record_set_string(r, "bms_name", "JK_PB2A16S15P");
    return r;
}

int main(void)
{
    char dir[] = "/tmp/bench-mqtt-XXXXXX", conf[128], settings[256];
    int port = 20000 + (int)(getpid() % 20000);
    pid_t broker;

    if (mkdtemp(dir) == NULL || (broker = bench_start_mosquitto(dir, port)) < 0)
        return 1;
    snprintf(conf, sizeof(conf), "%s/mosquitto.conf", dir);
    for (int qos = 0; qos <= 1; qos++) {
        struct testhost *t;
        const int n = 20000;
        double t0;
        snprintf(settings, sizeof(settings),
                 "host = \"127.0.0.1\"; port = %d; qos = %d; queue_size = 100000;", port, qos);
        if (testhost_open("mqtt", settings, &t) != 0) {
            fprintf(stderr, "bench_mqtt: %s\n", testhost_last_log());
            return 1;
        }
        {
            collector_record *r = sample(); /* the first one waits for the connection */
            for (int i = 0; i < 5000 && testhost_write(t, r) == -EAGAIN; i++)
                usleep(1000);
            record_free(r);
        }
        t0 = bench_now();
        for (int i = 0; i < n; i++) {
            collector_record *r = sample();
            while (testhost_write(t, r) == -EAGAIN) /* the window is full: as the host retries */
                usleep(100);
            record_free(r);
        }
        while (testhost_flush(t) != 0 && bench_now() - t0 < 60)
            ;
        printf("{\"bench\": \"mqtt_publish_qos%d\", \"value\": %.0f, \"unit\": \"records/s\"}\n",
               qos, n / (bench_now() - t0));
        testhost_close(t);
    }
    kill(broker, SIGTERM);
    waitpid(broker, NULL, 0);
    {
        /* broker gone: every write says -EAGAIN and the sink grows by nothing */
        struct testhost *t;
        long before = bench_proc_kb(0, "status", "VmRSS");
        snprintf(settings, sizeof(settings), "host = \"127.0.0.1\"; port = %d;", port);
        testhost_open("mqtt", settings, &t);
        for (int i = 0; i < 5000; i++) {
            collector_record *r = sample();
            testhost_write(t, r);
            record_free(r);
        }
        printf("{\"bench\": \"mqtt_rss_broker_away_kb\", \"value\": %ld, \"unit\": \"kB\"}\n",
               bench_proc_kb(0, "status", "VmRSS"));
        printf("{\"bench\": \"mqtt_rss_growth_broker_away_kb\", \"value\": %ld, \"unit\": \"kB\"}\n",
               bench_proc_kb(0, "status", "VmRSS") - before);
        testhost_close(t);
    }
    unlink(conf);
    rmdir(dir);
    return 0;
}
