/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The door Paho's threads come in by. Paho calls back on its own threads and
 * a callback may still be running when MQTTAsync_destroy returns, so what
 * counts the threads inside must not be the sink's state that destroy frees:
 * it is this separate object, and the context Paho gets is the gate, never
 * the sink. gate_close() shuts the door and waits until every thread inside
 * has left; a thread that comes later finds the door shut and touches
 * nothing of the sink.
 *
 * Lifetime: gate_new() by the sink; the sink calls gate_close() once Paho is
 * destroyed and then gate_free(). Paho picks a callback under the lock
 * MQTTAsync_destroy takes, so none is picked after destroy returned. One
 * window stays: Paho releases that lock just before it calls, so a thread
 * could, in principle, be between Paho's unlock and gate_enter() when the
 * gate is freed. Closing it needs Paho's cooperation (a gate that outlives
 * every Paho thread); the host's RTLD_NODELETE keeps the code mapped. */
#ifndef COLLECTORD_MQTT_GATE_H
#define COLLECTORD_MQTT_GATE_H

struct gate;

/* A gate letting callbacks through to `owner` (borrowed until gate_close).
 * NULL when out of memory. */
struct gate *gate_new(void *owner);
/* A callback comes in: the owner, or NULL when the gate is closed (then the
 * callback must not call gate_leave). */
void *gate_enter(struct gate *g);
void gate_leave(struct gate *g);
/* Shut the gate and wait for the threads inside to leave. */
void gate_close(struct gate *g);
/* Free a closed gate. NULL is fine. */
void gate_free(struct gate *g);

#endif
