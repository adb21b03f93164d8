/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/mqtt/gate.h"

#include <pthread.h>
#include <stdlib.h>

struct gate {
    pthread_mutex_t lock;
    pthread_cond_t left;
    void *owner; /* NULL once closed */
    unsigned inside;
};

struct gate *gate_new(void *owner)
{
    struct gate *g = calloc(1, sizeof(*g));

    if (g == NULL)
        return NULL;
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->left, NULL);
    g->owner = owner;
    return g;
}

void *gate_enter(struct gate *g)
{
    void *owner;

    pthread_mutex_lock(&g->lock);
    owner = g->owner;
    if (owner != NULL)
        g->inside++;
    pthread_mutex_unlock(&g->lock);
    return owner;
}

void gate_leave(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    if (--g->inside == 0)
        pthread_cond_broadcast(&g->left);
    pthread_mutex_unlock(&g->lock);
}

void gate_close(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->owner = NULL;
    while (g->inside > 0)
        pthread_cond_wait(&g->left, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

void gate_free(struct gate *g)
{
    if (g == NULL)
        return;
    pthread_cond_destroy(&g->left);
    pthread_mutex_destroy(&g->lock);
    free(g);
}
