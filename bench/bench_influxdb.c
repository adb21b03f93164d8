/* SPDX-License-Identifier: GPL-2.0-or-later */
/* make bench: points per second the influxdb sink writes to a local influxd
 * (Debian's influxdb, started here on free 127.0.0.1 ports with its own temp
 * dirs), batches of 5000 points, checked by counting them afterwards. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "core/record.h"
#include "testhost.h"

static collector_record *sample(int64_t time_ns)
{
    static const double cells[16] = {3.246, 3.230, 3.226, 3.231, 3.233, 3.231, 3.232, 3.232,
                                     3.225, 3.232, 3.216, 3.225, 3.237, 3.231, 3.225, 3.242};
    collector_record *r;
    record_new("battery1", time_ns, &r);
    record_set_device(r, "C8:47:8C:00:00:01");
    record_set_doubles(r, "cells", cells, 16);
    record_set_double(r, "battery_voltage", 51.689);
    record_set_double(r, "battery_current", -3.2);
    record_set_double(r, "battery_power", -165.4);
    record_set_double(r, "battery_soc", 46.0);
    record_set_double(r, "bms_cell_delta_v", 0.03);
    record_set_double(r, "temperature", 17.7);
    record_set_int(r, "bms_cell_count", 16);
    record_set_bool(r, "balancing", 0);
    record_set_string(r, "bms_model", "JK_PB2A16S15P");
    return r;
}

int main(void)
{
    char dir[] = "/tmp/bench-influx-XXXXXX", settings[256], answer[4096], want[64];
    int port = 20000 + (int)(getpid() % 20000), rpc = port + 1;
    const int n = 50000;
    struct testhost *t;
    pid_t server;
    double t0, secs;
    int ok = 0;

    if (mkdtemp(dir) == NULL || (server = bench_start_influxd(dir, port, rpc)) < 0)
        return 1;
    bench_http(port,
               "POST /query?q=CREATE%20DATABASE%20bench HTTP/1.0\r\n"
               "Content-Length: 0\r\n\r\n",
               answer, sizeof(answer));
    snprintf(settings, sizeof(settings),
             "url = \"http://127.0.0.1:%d\"; database = \"bench\"; batch_size = 5000;"
             " flush_interval = 1.0; precision = \"ns\";",
             port);
    if (testhost_open("influxdb", settings, &t) != 0) {
        fprintf(stderr, "bench_influxdb: %s\n", testhost_last_log());
        goto fail;
    }
    t0 = bench_now();
    for (int i = 0; i < n; i++) {
        collector_record *r = sample(1700000000000000000 + (int64_t)i * 1000);
        while (testhost_write(t, r) == -EAGAIN) /* as the host's queue would, later */
            usleep(1000);
        record_free(r);
    }
    while (testhost_flush(t) != 0 && bench_now() - t0 < 120)
        ;
    secs = bench_now() - t0;
    testhost_close(t);
    bench_http(port,
               "GET /query?db=bench&q=SELECT%20count(battery_voltage)%20FROM%20battery"
               " HTTP/1.0\r\n\r\n",
               answer, sizeof(answer));
    snprintf(want, sizeof(want), ",%d]", n);
    if (strstr(answer, want) == NULL) {
        fprintf(stderr, "bench_influxdb: the server does not hold %d points: %s\n", n, answer);
        goto fail;
    }
    printf("{\"bench\": \"influxdb_points_per_s\", \"value\": %.0f, \"unit\": \"points/s\"}\n",
           n / secs);
    ok = 1;
fail: /* the server goes in every case */
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    bench_rmtree(dir);
    return ok ? 0 : 1;
}
