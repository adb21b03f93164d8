/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/mqtt/paho.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    size_t offset;
} paho_symbols[] = {
    {"MQTTAsync_createWithOptions", offsetof(struct paho, create)},
    {"MQTTAsync_setCallbacks", offsetof(struct paho, set_callbacks)},
    {"MQTTAsync_setConnected", offsetof(struct paho, set_connected)},
    {"MQTTAsync_connect", offsetof(struct paho, connect)},
    {"MQTTAsync_sendMessage", offsetof(struct paho, send)},
    {"MQTTAsync_disconnect", offsetof(struct paho, disconnect)},
    {"MQTTAsync_destroy", offsetof(struct paho, destroy)},
    {"MQTTAsync_strerror", offsetof(struct paho, strerror)},
    {"MQTTAsync_free", offsetof(struct paho, free)},
    {"MQTTAsync_freeMessage", offsetof(struct paho, free_message)},
    {"MQTTAsync_subscribe", offsetof(struct paho, subscribe)},
    {"MQTTAsync_setTraceLevel", offsetof(struct paho, set_trace_level)},
};

#define PAHO_PLAIN "libpaho-mqtt3a.so.1"
#define PAHO_TLS "libpaho-mqtt3as.so.1"

/* The one process-wide exception to "no mutable globals": a shared library is
 * process-wide by nature, and loading it twice would gain nothing. */
const struct paho *paho_load(int tls, char *err, size_t errlen)
{
    static struct paho loaded[2];
    static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
    struct paho *p = &loaded[tls ? 1 : 0];
    const char *soname = tls ? PAHO_TLS : PAHO_PLAIN;

    pthread_mutex_lock(&load_lock);
    if (p->lib == NULL) {
        struct paho fresh = {0};
        int ok = 1;
        fresh.lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (fresh.lib == NULL) {
            snprintf(err, errlen, "%s (Debian package libpaho-mqtt1.3)", dlerror());
            ok = 0;
        }
        for (size_t i = 0; ok && i < sizeof(paho_symbols) / sizeof(paho_symbols[0]); i++) {
            /* POSIX: a data pointer from dlsym converts to a function pointer */
            void *sym = dlsym(fresh.lib, paho_symbols[i].name);
            if (sym == NULL) {
                snprintf(err, errlen, "%s has no %s", soname, paho_symbols[i].name);
                ok = 0;
            } else {
                memcpy((char *)&fresh + paho_symbols[i].offset, &sym, sizeof(sym));
            }
        }
        if (ok) {
            /* Paho writes every trace call at its level or above into a ring
             * of 400 entries (125 kB) that nothing here reads; its default
             * level takes each packet and function entry, so the whole ring
             * was resident within seconds. ERROR, the highest level it
             * accepts, leaves the ring allocated and its pages untouched. */
            fresh.set_trace_level(MQTTASYNC_TRACE_ERROR);
            *p = fresh;
        } else if (fresh.lib != NULL) {
            dlclose(fresh.lib);
        }
    }
    pthread_mutex_unlock(&load_lock);
    return p->lib != NULL ? p : NULL;
}
