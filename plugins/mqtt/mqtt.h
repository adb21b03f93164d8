/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The mqtt sink's glue, seen from its tests: build an instance from read
 * settings and start it with a Paho table of the test's choosing (a fake
 * that calls back on threads of its own). The plugin's other callbacks are
 * reached through collector_plugin_entry(). */
#ifndef COLLECTORD_MQTT_MQTT_H
#define COLLECTORD_MQTT_MQTT_H

#include <stddef.h>

#include <collector/plugin.h>

#include "plugins/mqtt/mqtt_settings.h"
#include "plugins/mqtt/paho.h"

/* create() after the settings are read: allocates only. *state_out is freed
 * with the descriptor's destroy(). 0 or -ENOMEM. */
int mqtt_new(const struct collector_host_api *api, collector_host *host,
             const struct mqtt_settings *cfg, void **state_out);
/* start() with `paho` (borrowed while started) instead of the loaded one. */
int mqtt_start_with(void *state, const struct paho *paho);
/* What the messages in the window take now (bytes, bounded by queue_bytes). */
size_t mqtt_queue_bytes(void *state);

#endif
