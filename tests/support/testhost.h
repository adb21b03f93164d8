/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * testhost: run one plugin instance inside a test, with the real host API
 * (core/hostapi.c, core/record.c, core/settings.c, core/loader.c), no daemon.
 *
 * The plugin is loaded from a .so exactly as collectord loads it (by name
 * from COLLECTOR_PLUGIN_PATH, which `make check` points at the build tree's
 * plugins/ directory), its settings come from libconfig text, records it
 * emits are collected in a list, and its log lines are captured.
 *
 *     struct testhost *t;
 *     assert_int_equal(testhost_open("soc_lifepo4", "preset = \"lifepo4_rest\";", &t), 0);
 *     collector_record *r = testhost_record_new(t);
 *     api->set_doubles(r, "cells", cells, 16);
 *     assert_int_equal(testhost_process(t, r), 0);
 *     ...
 *     testhost_record_free(r);
 *     testhost_close(t);
 */
#ifndef COLLECTORD_TESTS_SUPPORT_TESTHOST_H
#define COLLECTORD_TESTS_SUPPORT_TESTHOST_H

#include <stddef.h>
#include <stdint.h>

#include <collector/plugin.h>

struct testhost;

/*
 * Load plugin `name` (file NAME.so or NAME/NAME.so in a COLLECTOR_PLUGIN_PATH
 * directory) and create one instance named `name` with the settings in
 * `settings_text`: the body of a libconfig group, e.g.
 * "path = \"x.db\"; curve = ((2.5, 0.0), (3.65, 100.0));".
 * Returns 0, or the negative errno of the load or of create(); on failure
 * *out is NULL and testhost_last_log() still tells why (a static buffer).
 */
int testhost_open(const char *name, const char *settings_text, struct testhost **out);
/* Same, choosing the instance name and the poll interval (ms) explicitly. */
int testhost_open_ex(const char *name, const char *instance, int64_t interval_ms,
                     const char *settings_text, struct testhost **out);
/* Same, with TESTHOST_* flags. The host checks and completes the settings
 * from the plugin's setting_defs first (as collectord does); then create()
 * and, unless TESTHOST_NO_START, start(). */
#define TESTHOST_NO_START 0x1u /* create() only, as --check does */
int testhost_open_flags(const char *name, const char *instance, int64_t interval_ms,
                        const char *settings_text, unsigned flags, struct testhost **out);
/* start() / stop() the instance (when the plugin has them). */
int testhost_start(struct testhost *t);
void testhost_stop(struct testhost *t);
/* stop() (if started), destroy() and unload. NULL is fine. */
void testhost_close(struct testhost *t);

/* The host API table the plugin sees (for building and reading records);
 * the same for every testhost and valid after testhost_close (t may be NULL). */
const struct collector_host_api *testhost_api(const struct testhost *t);
/* The instance's host handle, e.g. for api->record_new(). */
collector_host *testhost_handle(struct testhost *t);

/* The host's collector.interval as the test host answers it (the daemon's
 * default): the freshness rule's fallback when a record's source interval is
 * unknown. Records given to process/write and records emitted are noted as
 * their source's newest (api->source_fresh_until_ns), as the pipeline does. */
#define TESTHOST_COLLECTOR_INTERVAL_MS 30000

/* Call the plugin's callbacks. poll: records it emits are collected (see
 * below). process/write: `rec` stays the caller's; records a calculator
 * emits inside process() are collected too, with `rec`'s interval (as the
 * pipeline gives them). */
int testhost_poll(struct testhost *t);
int testhost_process(struct testhost *t, collector_record *rec);
int testhost_write(struct testhost *t, const collector_record *rec);
/* ABI 1.2 calculators: vet_command(); -ENOTSUP when the plugin has none. */
int testhost_vet_command(struct testhost *t, const struct collector_command *cmd, char *reason,
                         size_t size);
int testhost_flush(struct testhost *t);

/* Records emitted so far (oldest first), owned by the testhost. */
size_t testhost_record_count(const struct testhost *t);
const collector_record *testhost_record(const struct testhost *t, size_t i);
/* Forget the collected records (frees them). */
void testhost_clear_records(struct testhost *t);

/* A fresh empty record whose source is this instance; free it with
 * testhost_record_free() (= api->record_free). */
collector_record *testhost_record_new(struct testhost *t);
void testhost_record_free(collector_record *rec);

/* Everything the instance logged, one line per message ("LEVEL message\n"),
 * NUL-terminated; borrowed until the next call into the testhost. */
const char *testhost_log(const struct testhost *t);
/* The log of the last failed testhost_open (or ""), a static buffer. */
const char *testhost_last_log(void);

/* ABI 1.2 commands. The plugin's api table is the host's with command_done
 * filled by a recorder: testhost_command() calls the plugin's command()
 * (-ENOTSUP without one) and every outcome reported, from any thread, is
 * kept (the first TESTHOST_MAX_OUTCOMES). */
#define TESTHOST_MAX_OUTCOMES 16
int testhost_command(struct testhost *t, const struct collector_command *cmd);
size_t testhost_outcome_count(struct testhost *t);
/* Outcome i: 0 and its id, COLLECTOR_OUTCOME_* and detail ("" for NULL;
 * borrowed until testhost_close), or -ENOENT. */
int testhost_outcome(struct testhost *t, size_t i, uint64_t *id, uint32_t *outcome,
                     const char **detail);
/* Shorthands: the command `name` `value` with this id, to the instance
 * itself, origin "cli" (testhost_command's return); 1 when outcome i has
 * this id and outcome and a detail containing `detail_has`, else 0 and a
 * "# " line on stderr saying what it was, with the instance's log; the bool
 * `name` of collected record i, or -1 when it has none. */
int testhost_command_to(struct testhost *t, uint64_t id, const char *name, const char *value);
int testhost_outcome_is(struct testhost *t, size_t i, uint64_t id, uint32_t outcome,
                        const char *detail_has);
int testhost_record_bool(const struct testhost *t, size_t i, const char *name);
/* 1 when the text file `path` (a simulator's log) has `line` as a whole
 * line, else 0 (also when it cannot be read). */
int testhost_file_has_line(const char *path, const char *line);

/* Ask the instance to stop (is_stopping() turns 1, stop_fd() readable). */
void testhost_request_stop(struct testhost *t);
/* The instance's state_dir() is $COLLECTOR_STATE_DIR when set (so a test can
 * keep state across two testhost_open calls), else a fresh mkdtemp directory
 * that testhost_close removes. */

#endif
