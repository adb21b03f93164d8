/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/clock.h"
#include "core/ctl.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/conf.h"
#include "core/ctlproto.h"
#include "core/ctlsock.h"

static void ctl_usage(FILE *out)
{
    fprintf(out,
            "usage: collectord ctl [-c FILE] [--socket PATH] BATTERY\n"
            "       collectord ctl [-c FILE] [--socket PATH] BATTERY SWITCH on|off [--for "
            "DURATION] [--force]\n"
            "  BATTERY alone prints its switch states and any pending timed return.\n"
            "  SWITCH on|off asks the daemon to switch it and waits for the BMS's read-back:\n"
            "  exit 0 only when confirmed, else 1 with one line.\n"
            "  --for DURATION  return to the opposite state after it (30min, 90s, 2h)\n"
            "  --force         override a calculator's safety refusal (not the control list)\n"
            "  -c FILE         take collector.control_socket from this configuration\n"
            "  --socket PATH   the socket (default %s, or $COLLECTOR_CONTROL_SOCKET)\n",
            COLLECTOR_CONTROL_SOCKET_DEFAULT);
}

/* Send one request line, read one answer line (bounded by `wait_ms`). */
static int exchange(const char *path, const char *req, char *ans, size_t size, int wait_ms)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = 0, rlen = strlen(req);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = 0, send_rc = 0;

    if (fd < 0)
        return -errno;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        close(fd);
        return -ENAMETOOLONG;
    }
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    /* a refused peer may find the socket closed before its request went
     * out: the answer saying why is still there to read */
    if (send(fd, req, rlen, MSG_NOSIGNAL) != (ssize_t)rlen)
        send_rc = -errno;
    while (len + 1 < size) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t r;
        if (poll(&p, 1, wait_ms) <= 0) {
            rc = -ETIMEDOUT;
            break;
        }
        r = recv(fd, ans + len, size - 1 - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
        if (memchr(ans, '\n', len) != NULL)
            break;
    }
    close(fd);
    ans[len] = '\0';
    if (rc == 0 && len == 0)
        rc = send_rc < 0 ? send_rc : -ECONNRESET;
    return rc;
}

static void print_status(json_t *o)
{
    json_t *sw = json_object_get(o, "switches"), *pend = json_object_get(o, "pending"), *v;
    const char *battery = json_string_value(json_object_get(o, "battery")), *key;
    json_int_t t = json_integer_value(json_object_get(o, "time_ns"));
    size_t i;
    int any = 0;

    printf("%s:", battery ? battery : "?");
    json_object_foreach(sw, key, v) {
        printf("%s %s %s", any ? "," : "", key, json_is_true(v) ? "on" : "off");
        any = 1;
    }
    if (!any)
        printf(" no switch states seen yet");
    if (t > 0) {
        time_t secs = (time_t)(t / 1000000000);
        struct tm tm;
        char when[32];
        localtime_r(&secs, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        printf(" (newest record %s%s)", when,
               json_is_false(json_object_get(o, "fresh")) ? ", STALE: not the state now" : "");
    }
    printf("\n");
    {
        json_t *allow = json_object_get(o, "control");
        printf("control:");
        json_array_foreach(allow, i, v) printf("%s %s", i ? "," : "", json_string_value(v));
        printf("%s\n", json_array_size(allow) == 0 ? " none (read-only)" : "");
    }
    json_array_foreach(pend, i, v) {
        json_int_t due = json_integer_value(json_object_get(v, "due_ns"));
        printf("pending: %s returns to %s in %lld s\n",
               json_string_value(json_object_get(v, "switch")),
               json_string_value(json_object_get(v, "value")),
               (long long)((due - clock_real_ns()) / 1000000000));
    }
}

int ctl_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'}, {"for", required_argument, NULL, 'F'},
        {"force", no_argument, NULL, 'f'},        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *sock = getenv("COLLECTOR_CONTROL_SOCKET"), *conf = NULL, *dur = NULL;
    char path[108], req[CTL_REQ_MAX], ans[4096];
    int force = 0, c, rc, status = 1;
    int64_t ms = 0;
    json_t *o = NULL, *r;
    json_error_t je;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            sock = optarg;
            break;
        case 'F':
            dur = optarg;
            break;
        case 'f':
            force = 1;
            break;
        case 'c':
            conf = optarg;
            break;
        case 'h':
            ctl_usage(stdout);
            return 0;
        default:
            ctl_usage(stderr);
            return EX_USAGE;
        }
    }
    /* options may also follow the words: collectord ctl b1 charge off --for 30min */
    {
        const char *words[3] = {NULL, NULL, NULL};
        int nw = 0;
        for (int i = optind; i < argc; i++) {
            if (strcmp(argv[i], "--force") == 0) {
                force = 1;
            } else if (strcmp(argv[i], "--for") == 0 && i + 1 < argc) {
                dur = argv[++i];
            } else if (strncmp(argv[i], "--for=", 6) == 0) {
                dur = argv[i] + 6;
            } else if (nw < 3 && argv[i][0] != '-') {
                words[nw++] = argv[i];
            } else {
                ctl_usage(stderr);
                return EX_USAGE;
            }
        }
        if (nw != 1 && nw != 3) {
            ctl_usage(stderr);
            return EX_USAGE;
        }
        if (nw == 3 && strcmp(words[2], "on") != 0 && strcmp(words[2], "off") != 0) {
            fprintf(stderr, "collectord ctl: %s: want on or off\n", words[2]);
            return EX_USAGE;
        }
        if (dur != NULL && ctl_parse_duration(dur, &ms) < 0) {
            fprintf(stderr, "collectord ctl: --for %s: want a duration such as 30min, 90s, 2h\n",
                    dur);
            return EX_USAGE;
        }
        if (nw == 1 && (dur != NULL || force)) {
            ctl_usage(stderr);
            return EX_USAGE;
        }
        o = nw == 1 ? json_pack("{s:s}", "battery", words[0])
                    : json_pack("{s:s, s:s, s:s, s:b}", "battery", words[0], "switch", words[1],
                                "value", words[2], "force", force);
        if (o != NULL && dur != NULL)
            json_object_set_new(o, "for", json_string(dur));
    }
    if (conf != NULL) {
        struct daemon_cfg *cfg = NULL;
        if (config_load(conf, &cfg) < 0)
            return 1;
        snprintf(path, sizeof(path), "%s", cfg->control_socket);
        config_free(cfg);
    } else {
        snprintf(path, sizeof(path), "%s",
                 sock && *sock ? sock : COLLECTOR_CONTROL_SOCKET_DEFAULT);
    }
    if (o == NULL) {
        fprintf(stderr, "collectord ctl: out of memory\n");
        return 1;
    }
    {
        char *s = json_dumps(o, JSON_COMPACT);
        snprintf(req, sizeof(req), "%s\n", s ? s : "{}");
        free(s);
    }
    rc = exchange(path, req, ans, sizeof(ans), CTL_WAIT_MS + 5000);
    if (rc < 0) {
        fprintf(stderr, "collectord ctl: %s: %s\n", path, strerror(-rc));
        goto out;
    }
    r = json_loads(ans, JSON_DISABLE_EOF_CHECK, &je);
    if (r == NULL) {
        fprintf(stderr, "collectord ctl: %s: not an answer: %s\n", path, je.text);
        goto out;
    }
    if (json_object_get(r, "error") != NULL) {
        fprintf(stderr, "collectord ctl: %s\n", json_string_value(json_object_get(r, "error")));
    } else if (json_object_get(r, "outcome") != NULL) {
        const char *outcome = json_string_value(json_object_get(r, "outcome"));
        const char *detail = json_string_value(json_object_get(r, "detail"));
        int ok = outcome != NULL && strcmp(outcome, "confirmed") == 0;
        fprintf(ok ? stdout : stderr, "%s: %s %s: %s%s%s\n",
                json_string_value(json_object_get(r, "battery")),
                json_string_value(json_object_get(r, "switch")),
                json_string_value(json_object_get(o, "value")), outcome ? outcome : "?",
                detail && *detail ? ": " : "", detail ? detail : "");
        status = ok ? 0 : 1;
    } else {
        print_status(r);
        status = 0;
    }
    json_decref(r);
out:
    json_decref(o);
    return status;
}
