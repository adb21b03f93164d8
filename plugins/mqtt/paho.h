/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Eclipse Paho's asynchronous client, loaded by soname at start().
 *
 * Paho ships two builds of one API: libpaho-mqtt3a without TLS and
 * libpaho-mqtt3as with OpenSSL. The sink loads the first unless a TLS file is
 * configured, so a daemon that talks to a broker on its own network does not
 * map OpenSSL (about 2 MB of resident pages on a small machine).
 *
 * The sink calls Paho only through this table, so a test can hand it a fake. */
#ifndef COLLECTORD_MQTT_PAHO_H
#define COLLECTORD_MQTT_PAHO_H

#include <stddef.h>

#include <MQTTAsync.h>

struct paho {
    void *lib;
    __typeof__(MQTTAsync_createWithOptions) *create;
    __typeof__(MQTTAsync_setCallbacks) *set_callbacks;
    __typeof__(MQTTAsync_setConnected) *set_connected;
    __typeof__(MQTTAsync_connect) *connect;
    __typeof__(MQTTAsync_sendMessage) *send;
    __typeof__(MQTTAsync_disconnect) *disconnect;
    __typeof__(MQTTAsync_destroy) *destroy;
    __typeof__(MQTTAsync_strerror) *strerror;
    __typeof__(MQTTAsync_free) *free;
    __typeof__(MQTTAsync_freeMessage) *free_message;
    __typeof__(MQTTAsync_subscribe) *subscribe; /* NULL (a test's fake): no commands */
    __typeof__(MQTTAsync_setTraceLevel) *set_trace_level;
};

/* The Paho build for `tls`, loaded once per process and never unloaded (its
 * threads may still be on their way out when MQTTAsync_destroy returns).
 * Borrowed for the life of the process; NULL with `err` filled when it is
 * missing or incomplete. Thread-safe. */
const struct paho *paho_load(int tls, char *err, size_t errlen);

#endif
