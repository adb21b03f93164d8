/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libstate/state_writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct state_writer {
    const struct collector_host_api *api;
    collector_host *host;
    char name[128];
    pthread_t thread;
    pthread_mutex_t lock; /* protects pending, pending_len, quit */
    pthread_cond_t wake;  /* signalled when pending is set or quit turns 1 */
    char *pending;
    size_t pending_len;
    int quit;
    int last_rc; /* only the thread touches it until it is joined */
};

static void *writer_main(void *arg)
{
    struct state_writer *w = arg;

    pthread_mutex_lock(&w->lock);
    for (;;) {
        char *text;
        size_t len;
        int rc;

        while (w->pending == NULL && !w->quit)
            pthread_cond_wait(&w->wake, &w->lock);
        if (w->pending == NULL)
            break; /* quit, nothing left */
        text = w->pending;
        len = w->pending_len;
        w->pending = NULL;
        pthread_mutex_unlock(&w->lock);

        rc = w->api->state_write(w->host, w->name, text, len);
        free(text);
        /* once per change of cause, not once per save */
        if (rc < 0 && rc != w->last_rc)
            w->api->log(w->host, COLLECTOR_LOG_ERROR, "%s/%s: cannot write the state: %s",
                        w->api->state_dir(w->host), w->name, strerror(-rc));
        else if (rc == 0 && w->last_rc < 0)
            w->api->log(w->host, COLLECTOR_LOG_INFO, "%s/%s: state written again",
                        w->api->state_dir(w->host), w->name);
        w->last_rc = rc;
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int state_writer_start(const struct collector_host_api *api, collector_host *host, const char *name,
                       struct state_writer **out)
{
    struct state_writer *w = calloc(1, sizeof(*w));
    int rc;

    if (w == NULL)
        return -ENOMEM;
    w->api = api;
    w->host = host;
    snprintf(w->name, sizeof(w->name), "%s", name);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    rc = pthread_create(&w->thread, NULL, writer_main, w);
    if (rc != 0) {
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return -rc;
    }
    *out = w;
    return 0;
}

void state_writer_submit(struct state_writer *w, char *text, size_t len)
{
    if (w == NULL) {
        free(text);
        return;
    }
    pthread_mutex_lock(&w->lock);
    free(w->pending); /* superseded: the newer state is the one to keep */
    w->pending = text;
    w->pending_len = len;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

int state_writer_stop(struct state_writer *w)
{
    int rc;

    if (w == NULL)
        return 0;
    pthread_mutex_lock(&w->lock);
    w->quit = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    rc = w->last_rc;
    free(w->pending); /* NULL: the thread wrote everything before it ended */
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
    return rc;
}
