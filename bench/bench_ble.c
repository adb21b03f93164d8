/* SPDX-License-Identifier: GPL-2.0-or-later */
/* make bench: ATT requests (with a response) per poll against the simulated
 * JK BMS, on the first connect (full discovery) and on a reconnect (cached
 * handles), and the time a poll takes. The seed's bleak client does full
 * discovery and 2.5 s of fixed sleeps on every poll. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plugins/libjkble/jk_session.h"

int main(void)
{
    const char *top = getenv("top_srcdir") ? getenv("top_srcdir") : ".";
    char sim[4096], di[4096], ci[4096], sock[] = "/tmp/bench-ble-XXXXXX", path[64];
    struct jk_session s;
    struct jk_cell_info cell;
    int ready[2];
    pid_t pid;
    char c;

    if (mkdtemp(sock) == NULL || pipe(ready) < 0)
        return 1;
    snprintf(path, sizeof(path), "%s/s", sock);
    snprintf(sim, sizeof(sim), "%s/tests/plugins/jk_ble/jk_sim.py", top);
    snprintf(di, sizeof(di), "%s/tests/data/jk/jk02_32s_v11_device_info.hex", top);
    snprintf(ci, sizeof(ci), "%s/tests/data/jk/jk02_32s_v11_cell_info.hex", top);
    pid = fork();
    if (pid == 0) {
        dup2(ready[1], STDOUT_FILENO);
        execlp("python3", "python3", sim, "--socket", path, "--device-info", di, "--cell-info",
               ci, "--connections", "2", (char *)NULL);
        _exit(127);
    }
    if (read(ready[0], &c, 1) != 1) { /* "ready" */
        fprintf(stderr, "bench_ble: the simulator did not start\n");
        return 1;
    }
    jk_session_init(&s, JK_PROTO_AUTO, -1);
    memcpy(s.address, "C8:47:8C:00:00:01", 18);
    snprintf(s.transport, sizeof(s.transport), "unix:%s", path);
    s.timeout_ms = 10000;
    for (int poll = 0; poll < 2; poll++) {
        int64_t t0 = gatt_now_ms();
        if (jk_session_read(&s, &cell, 0) < 0) {
            fprintf(stderr, "bench_ble: %s\n", s.error);
            kill(pid, SIGTERM);
            return 1;
        }
        printf("{\"bench\": \"ble_att_requests_%s\", \"value\": %lu, \"unit\": \"requests/poll\"}\n",
               poll == 0 ? "first_connect" : "reconnect", s.requests_last);
        printf("{\"bench\": \"ble_poll_ms_%s\", \"value\": %lld, \"unit\": \"ms\"}\n",
               poll == 0 ? "first_connect" : "reconnect", (long long)(gatt_now_ms() - t0));
    }
    waitpid(pid, NULL, 0);
    rmdir(sock);
    return 0;
}
