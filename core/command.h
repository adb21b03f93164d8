/* SPDX-License-Identifier: GPL-2.0-or-later */
/* command: the host side of ABI 1.2 commands. Checks (the source offers
 * and allows it, calculators' vet_command), one queue per source instance
 * run on its poll thread between polls, a bounded time for each, timed
 * returns that survive a restart, and one audit line plus one EVENT record
 * for every command, refused ones included. */
#ifndef COLLECTORD_CORE_COMMAND_H
#define COLLECTORD_CORE_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <collector/plugin.h>

struct instance;
struct pipeline;
struct command_center;

#define COMMAND_QUEUE_MAX 4           /* waiting per instance, besides the one in flight */
#define COMMAND_TIMEOUT_MS 30000      /* the host's limit for command_done after command() */
#define COMMAND_RETRY_RETURN_MS 30000 /* a timed return that did not confirm is tried again */
#define COMMAND_STATE_FILE "control-returns"

/* `state_dir` is borrowed (the timed returns live there); `pl` gets the
 * outcome events. Nothing runs until command_start. */
int command_center_new(const char *state_dir, struct pipeline *pl, struct command_center **out);
/* Stops what runs, ends waiting commands as FAILED. NULL-safe. */
void command_center_free(struct command_center *cc);
/* The instances of the running configuration (borrowed until the next
 * call): sources take commands, calculators vet them. A command queued for
 * an instance that is not in the new set ends FAILED. */
int command_set_instances(struct command_center *cc, struct instance *const *v, size_t n);
/* Load the persisted timed returns and start the thread that fires them
 * and times out commands. */
int command_start(struct command_center *cc);
/* Stop that thread; waiters get -ECANCELED. */
void command_stop(struct command_center *cc);

/* Check and queue `cmd` (borrowed). 0 and *id: queued, the outcome comes
 * later. A negative errno: refused (-EPERM, -ENOENT, -EINVAL, -EBUSY,
 * -ECANCELED), *id set, `reason` filled, the refusal audited and reported
 * as an event like any outcome. */
int command_submit(struct command_center *cc, const struct collector_command *cmd,
                   uint64_t *id, char *reason, size_t size);
/* 1 when `source` offers `name` and its control setting allows it. */
int command_allowed(struct command_center *cc, const char *source, const char *name);
/* The outcome of `id` (once; later calls are ignored). Any thread. */
void command_done(struct command_center *cc, uint64_t id, uint32_t outcome, const char *detail);
/* Wait for the outcome of `id`, at most `timeout_ms`: 0 with *outcome and
 * `detail`; -ETIMEDOUT; -ENOENT (forgotten); -ECANCELED (stopping). */
int command_wait(struct command_center *cc, uint64_t id, int64_t timeout_ms,
                 uint32_t *outcome, char *detail, size_t size);
/* On `in`'s poll thread between polls: run its next queued command unless
 * one is in flight. */
void command_run_queued(struct command_center *cc, struct instance *in);
/* A source emitted `rec`: keep the switch states it carries (for status). */
void command_note_record(struct command_center *cc, const char *source,
                         const collector_record *rec);
/* `battery`'s switch states from its newest record and its pending timed
 * returns, as one JSON object (a new reference). 0, -ENOENT (no such source). */
int command_status_json(struct command_center *cc, const char *battery, json_t **out);

/* "confirmed", "refused", "not confirmed", "failed" */
const char *command_outcome_name(uint32_t outcome);

#endif
