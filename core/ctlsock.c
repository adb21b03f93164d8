/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/ctlsock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "core/command.h"
#include "core/ctlproto.h"
#include "core/log.h"
#include "core/statefile.h"


struct ctlsock {
    char path[108];
    int fd;
    int stop_pipe[2];
    struct command_center *cc;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t idle;
    int clients;
};

struct client {
    struct ctlsock *cs;
    int fd;
    uid_t uid;
};

static void say(int fd, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);

    if (s != NULL) {
        size_t n = strlen(s);
        s[n] = '\n'; /* json_dumps leaves the NUL: room for one byte */
        if (send(fd, s, n + 1, MSG_NOSIGNAL) < 0)
            log_msg(LOG_CORE, COLLECTOR_LOG_DEBUG, "control socket: answer not sent: %s",
                    strerror(errno));
        free(s);
    }
    json_decref(o);
}

static void say_error(int fd, const char *msg)
{
    say(fd, json_pack("{s:s}", "error", msg));
}

/* Read one line (bounded) within 5 s. Its length, or -1. */
static ssize_t read_line(int fd, char *buf, size_t size)
{
    size_t len = 0;

    while (len < size) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t r;
        if (poll(&p, 1, 5000) <= 0)
            return -1;
        r = recv(fd, buf + len, size - len, 0);
        if (r <= 0)
            return len > 0 ? (ssize_t)len : -1;
        for (size_t i = len; i < len + (size_t)r; i++)
            if (buf[i] == '\n')
                return (ssize_t)i;
        len += (size_t)r;
    }
    return (ssize_t)len; /* too long: the parser refuses it */
}

static void serve(struct client *c)
{
    char line[CTL_LINE_MAX + 2], err[256], origin[64];
    struct ctl_request req;
    ssize_t n = read_line(c->fd, line, sizeof(line));

    if (n < 0)
        return;
    if (ctl_parse_request(line, (size_t)n, &req, err, sizeof(err)) < 0) {
        log_msg(LOG_CORE, COLLECTOR_LOG_WARNING, "control socket: uid %u: bad request: %s",
                (unsigned)c->uid, err);
        say_error(c->fd, err);
        return;
    }
    if (req.sw[0] == '\0') {
        json_t *status = NULL;
        if (command_status_json(c->cs->cc, req.battery, &status) < 0) {
            snprintf(err, sizeof(err), "no source named \"%s\"", req.battery);
            say_error(c->fd, err);
        } else {
            say(c->fd, status);
        }
        return;
    }
    {
        struct collector_command cmd = {
            .struct_size = (uint32_t)sizeof(cmd),
            .flags = req.force ? COLLECTOR_COMMAND_FORCE : 0,
            .target = req.battery,
            .name = req.sw,
            .value = req.value,
            .duration_ms = req.duration_ms,
            .origin = origin,
        };
        uint64_t id = 0;
        uint32_t outcome = COLLECTOR_OUTCOME_REFUSED;
        char detail[256] = "";
        int rc;

        snprintf(origin, sizeof(origin), "socket uid %u", (unsigned)c->uid);
        rc = command_submit(c->cs->cc, &cmd, &id, detail, sizeof(detail));
        if (rc == 0) {
            rc = command_wait(c->cs->cc, id, CTL_WAIT_MS, &outcome, detail, sizeof(detail));
            if (rc < 0) {
                outcome = COLLECTOR_OUTCOME_FAILED;
                snprintf(detail, sizeof(detail), "%s",
                         rc == -ETIMEDOUT ? "no outcome in time (see the daemon's log)"
                                          : "the daemon is stopping");
            }
        }
        say(c->fd, json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)id, "battery",
                             req.battery, "switch", req.sw, "outcome",
                             command_outcome_name(outcome), "detail", detail));
    }
}

static void *client_main(void *arg)
{
    struct client *c = arg;
    struct ctlsock *cs = c->cs;

    serve(c);
    close(c->fd);
    free(c);
    pthread_mutex_lock(&cs->lock);
    cs->clients--;
    pthread_cond_broadcast(&cs->idle);
    pthread_mutex_unlock(&cs->lock);
    return NULL;
}

/* Root, the daemon's uid, or its gid; everyone else gets one line. */
static int peer_allowed(int fd, uid_t *uid)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
        return 0;
    *uid = cr.uid;
    return cr.uid == 0 || cr.uid == geteuid() || cr.gid == getegid();
}

static void accept_one(struct ctlsock *cs)
{
    int fd = accept4(cs->fd, NULL, NULL, SOCK_CLOEXEC);
    struct client *c;
    pthread_t t;
    uid_t uid = (uid_t)-1;
    int busy;

    if (fd < 0)
        return;
    if (!peer_allowed(fd, &uid)) {
        log_msg(LOG_CORE, COLLECTOR_LOG_WARNING,
                "control socket: refused a peer with uid %u (only root and the daemon's user "
                "or group)",
                (unsigned)uid);
        say_error(fd, "refused: only root and the daemon's user or group may use this socket");
        close(fd);
        return;
    }
    pthread_mutex_lock(&cs->lock);
    busy = cs->clients >= CTL_CLIENTS_MAX;
    if (!busy)
        cs->clients++;
    pthread_mutex_unlock(&cs->lock);
    c = busy ? NULL : calloc(1, sizeof(*c));
    if (c == NULL) {
        say_error(fd, busy ? "busy: too many clients, try again" : "out of memory");
        close(fd);
        if (!busy) {
            pthread_mutex_lock(&cs->lock);
            cs->clients--;
            pthread_mutex_unlock(&cs->lock);
        }
        return;
    }
    c->cs = cs;
    c->fd = fd;
    c->uid = uid;
    if (pthread_create(&t, NULL, client_main, c) != 0) {
        close(fd);
        free(c);
        pthread_mutex_lock(&cs->lock);
        cs->clients--;
        pthread_mutex_unlock(&cs->lock);
        return;
    }
    pthread_detach(t);
}

static void *server_main(void *arg)
{
    struct ctlsock *cs = arg;

    for (;;) {
        struct pollfd p[2] = {{cs->fd, POLLIN, 0}, {cs->stop_pipe[0], POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (p[0].revents & POLLIN)
            accept_one(cs);
    }
    return NULL;
}

/* mkdir -p the socket's directory (0755: the socket's own mode guards it). */
static int make_parent(const char *path)
{
    char dir[108];
    char *slash;

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return 0;
    *slash = '\0';
    return statefile_make_dirs(dir, 0755);
}

int ctlsock_start(const char *path, int by_default, struct command_center *cc,
                  struct ctlsock **out)
{
    struct ctlsock *cs = calloc(1, sizeof(*cs));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    const char *what = "";
    int rc = 0;

    *out = NULL;
    if (cs == NULL)
        return -ENOMEM;
    cs->fd = cs->stop_pipe[0] = cs->stop_pipe[1] = -1;
    cs->cc = cc;
    pthread_mutex_init(&cs->lock, NULL);
    pthread_cond_init(&cs->idle, NULL);
    snprintf(cs->path, sizeof(cs->path), "%s", path);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if ((rc = make_parent(path)) < 0) {
        what = "cannot make its directory";
        goto fail;
    }
    /* a socket left by a daemon that died is replaced; a live one (another
     * daemon on this host) and anything else are not ours */
    if (lstat(path, &st) == 0) {
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        if (probe >= 0)
            close(probe);
        if (!S_ISSOCK(st.st_mode) || live) {
            rc = -EADDRINUSE;
            what = live ? "another daemon answers on it" : "exists and is not a socket";
            goto fail;
        }
        unlink(path);
    }
    cs->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (cs->fd < 0 || pipe2(cs->stop_pipe, O_CLOEXEC) != 0) {
        rc = -errno;
        what = "socket";
        goto fail;
    }
    /* not umask(): it is the process's, and other threads run. Until the
     * chmod the mode is the umask's (0750 under the unit); the peer check
     * stands either way, and nobody is accepted before listen(). */
    if (bind(cs->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        rc = -errno;
        what = "bind";
        goto fail;
    }
    if (chmod(path, 0660) != 0 || listen(cs->fd, 8) != 0) {
        rc = -errno;
        what = "listen";
        goto fail;
    }
    rc = -pthread_create(&cs->thread, NULL, server_main, cs);
    if (rc < 0) {
        what = "thread";
        goto fail;
    }
    log_msg(LOG_CORE, COLLECTOR_LOG_INFO, "control socket %s (mode 0660, uid %u gid %u)", path,
            (unsigned)geteuid(), (unsigned)getegid());
    *out = cs;
    return 0;
fail:
    log_msg(LOG_CORE, by_default ? COLLECTOR_LOG_WARNING : COLLECTOR_LOG_ERROR,
            "control socket %s: %s: %s (running without it%s)", path, what, strerror(-rc),
            by_default ? "; set collector.control_socket" : "");
    if (cs->fd >= 0)
        close(cs->fd);
    for (int i = 0; i < 2; i++)
        if (cs->stop_pipe[i] >= 0)
            close(cs->stop_pipe[i]);
    pthread_cond_destroy(&cs->idle);
    pthread_mutex_destroy(&cs->lock);
    free(cs);
    return rc;
}

void ctlsock_stop(struct ctlsock *cs)
{
    static const char byte = 1;

    if (cs == NULL)
        return;
    if (write(cs->stop_pipe[1], &byte, 1) < 0)
        log_msg(LOG_CORE, COLLECTOR_LOG_DEBUG, "control socket: stop: %s", strerror(errno));
    pthread_join(cs->thread, NULL);
    close(cs->fd);
    unlink(cs->path);
    /* clients wait at most CTL_WAIT_MS; command_stop() releases them sooner */
    pthread_mutex_lock(&cs->lock);
    while (cs->clients > 0)
        pthread_cond_wait(&cs->idle, &cs->lock);
    pthread_mutex_unlock(&cs->lock);
    close(cs->stop_pipe[0]);
    close(cs->stop_pipe[1]);
    pthread_cond_destroy(&cs->idle);
    pthread_mutex_destroy(&cs->lock);
    free(cs);
}
