/* SPDX-License-Identifier: MIT */
/*
 * collector/plugin.h - the collectord plugin SDK (ABI 1.2).
 *
 * A plugin is a shared object exporting exactly one function,
 * collector_plugin_entry(), which returns a pointer to a static const
 * struct collector_plugin. The host reads the descriptor, checks its ABI
 * numbers and serves the plugin through the const table of function
 * pointers struct collector_host_api, passed to create(). A plugin links
 * against nothing of the core.
 *
 * ABI rules (see docs/ABI.md for the long form):
 *  - The first three members of both structs (abi_major, abi_minor,
 *    struct_size) never move and never change type, in any major.
 *  - A minor release only appends members at the end of a struct, adds
 *    constants where this header says unknown values are ignored or
 *    refused, or adds optional callbacks. Everything else (removing,
 *    reordering, retyping a member, changing a signature, an ownership
 *    rule, a unit or a threading promise) needs a new major.
 *  - The host loads plugins of its own major and of any minor up to its
 *    own, so a plugin never meets a host older than the abi_minor it
 *    declares (COLLECTOR_PLUGIN_HEAD declares this header's): it calls every
 *    member declared here without a check. Only a plugin that declares an
 *    older minor on purpose, to load into older hosts too, checks a newer
 *    member first:
 *        if (api->struct_size >= COLLECTOR_API_HAS(member)) ...
 *
 * Ownership words used below: "borrowed" (valid until the stated moment,
 * the callee must copy to keep it), "taken" (the callee owns it from the
 * call on, also when the call fails).
 *
 * Return convention: 0 on success or a negative errno value (-EINVAL,
 * -ENOENT, -ENOMEM, -EIO, -ETIMEDOUT, -EAGAIN for "transient, try later").
 *
 * This header includes only <stddef.h>, <stdint.h> and <stdarg.h>.
 */
#ifndef COLLECTOR_PLUGIN_H
#define COLLECTOR_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COLLECTOR_ABI_MAJOR 1u
#define COLLECTOR_ABI_MINOR 2u

#if defined(__GNUC__)
#define COLLECTOR_EXPORT __attribute__((visibility("default")))
#define COLLECTOR_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#else
#define COLLECTOR_EXPORT
#define COLLECTOR_PRINTF(fmt_idx, arg_idx)
#endif

/* Plugin kinds. The host refuses a kind it does not know. */
#define COLLECTOR_KIND_SOURCE     1u /* polled on an interval, emits records */
#define COLLECTOR_KIND_CALCULATOR 2u /* edits each record in place, in config order */
#define COLLECTOR_KIND_SINK       3u /* receives every record, writes it somewhere */

/* Log levels (syslog numbers). The host treats unknown levels as INFO. */
#define COLLECTOR_LOG_ERROR   3
#define COLLECTOR_LOG_WARNING 4
#define COLLECTOR_LOG_INFO    6
#define COLLECTOR_LOG_DEBUG   7

/* Metric types. A sink ignores metrics of a type it does not know. */
#define COLLECTOR_METRIC_DOUBLE  1u /* double */
#define COLLECTOR_METRIC_INT     2u /* int64_t */
#define COLLECTOR_METRIC_BOOL    3u /* 0 or 1 */
#define COLLECTOR_METRIC_STRING  4u /* UTF-8, NUL-terminated */
#define COLLECTOR_METRIC_DOUBLES 5u /* array of double, e.g. cell voltages */

/* Clocks for time_ns(). */
#define COLLECTOR_CLOCK_REALTIME  0 /* wall clock, for stamping records */
#define COLLECTOR_CLOCK_MONOTONIC 1 /* for deadlines and intervals */

/* Opaque handles: plugins never allocate, embed or look inside them. */
typedef struct collector_host collector_host;         /* one per plugin instance */
typedef struct collector_settings collector_settings; /* a config setting (group, list or value) */
typedef struct collector_record collector_record;     /* one measurement record */
struct collector_setting_def;                         /* ABI 1.1: one declared setting, below */
struct collector_command;                             /* ABI 1.2: one command to a source, below */
struct collector_command_def;                         /* ABI 1.2: one command a source offers */

/*
 * The host's services. Every function is thread-safe unless it says
 * otherwise; calls about one record are not (a record belongs to one
 * thread at a time).
 */
struct collector_host_api {
    uint32_t abi_major;   /* frozen: offset 0 */
    uint32_t abi_minor;   /* frozen: offset 4 */
    uint32_t struct_size; /* frozen: offset 8, sizeof this struct in the host */

    /* ---- logging and identity ---- */

    /* One log line: "<time> - <instance> - <LEVEL> - <message>". No newline needed. */
    void (*log)(collector_host *host, int level, const char *fmt, ...) COLLECTOR_PRINTF(3, 4);
    void (*vlog)(collector_host *host, int level, const char *fmt, va_list ap)
        COLLECTOR_PRINTF(3, 0);
    /* The instance name from the config; borrowed for the instance's lifetime. */
    const char *(*instance_name)(const collector_host *host);

    /* ---- settings (the instance's config group) ----
     * `key` names a direct member of the group `s`; NULL means `s` itself.
     * Getters return 0 and fill *out, -ENOENT when the key is absent (out
     * untouched), -EINVAL when it has another type. Strings are borrowed
     * until create() returns. setting_double accepts integers too;
     * setting_bool accepts only true/false. */
    int (*setting_string)(const collector_settings *s, const char *key, const char **out);
    int (*setting_int)(const collector_settings *s, const char *key, int64_t *out);
    int (*setting_double)(const collector_settings *s, const char *key, double *out);
    int (*setting_bool)(const collector_settings *s, const char *key, int *out);
    /* The member `key` of `s` (any type, e.g. a list), or -ENOENT. Borrowed like `s`. */
    int (*setting_child)(const collector_settings *s, const char *key,
                     const collector_settings **out);
    /* Number of elements of a list, array or group; 0 for a scalar. */
    size_t (*setting_count)(const collector_settings *s);
    /* Element i of a list, array or group, or -ENOENT past the end. */
    int (*setting_element)(const collector_settings *s, size_t i, const collector_settings **out);
    /* Report a bad setting: one ERROR line "<file>:<line>: <instance>: <key>: <message>".
     * `key` may be NULL (the line of `s` itself is used). */
    void (*setting_error)(collector_host *host, const collector_settings *s, const char *key,
                          const char *fmt, ...) COLLECTOR_PRINTF(4, 5);

    /* ---- records ----
     * record_new: a new empty record stamped with the current realtime and
     * this instance as its source; owned by the caller until emitted or freed. */
    int (*record_new)(collector_host *host, collector_record **out);
    /* Free a record that will not be emitted. NULL is fine. */
    void (*record_free)(collector_record *rec);
    /* Hand a record to the pipeline (calculators, then sinks). Takes `rec`,
     * also on failure. Call from poll() only. */
    int (*emit)(collector_host *host, collector_record *rec);

    /* Setters replace a metric of the same name (and type). Names are
     * lower_snake_case ASCII, [a-z0-9_], at most 63 bytes: -EINVAL otherwise.
     * Strings and arrays are copied. */
    int (*set_double)(collector_record *rec, const char *name, double value);
    int (*set_int)(collector_record *rec, const char *name, int64_t value);
    int (*set_bool)(collector_record *rec, const char *name, int value);
    int (*set_string)(collector_record *rec, const char *name, const char *value);
    int (*set_doubles)(collector_record *rec, const char *name, const double *values,
                       size_t count);
    /* Remove a metric; -ENOENT when absent. */
    int (*unset)(collector_record *rec, const char *name);
    /* Identity of the device measured (e.g. its BLE address); copied. */
    int (*set_device)(collector_record *rec, const char *device);
    /* Override the record's timestamp (realtime, ns since the Unix epoch). */
    int (*set_time_ns)(collector_record *rec, int64_t time_ns);

    /* Getters: 0 and *out, -ENOENT when absent, -EINVAL for another type.
     * get_double also reads an INT metric. Borrowed pointers stay valid
     * until the record is changed or freed. */
    int (*get_double)(const collector_record *rec, const char *name, double *out);
    int (*get_int)(const collector_record *rec, const char *name, int64_t *out);
    int (*get_bool)(const collector_record *rec, const char *name, int *out);
    int (*get_string)(const collector_record *rec, const char *name, const char **out);
    int (*get_doubles)(const collector_record *rec, const char *name, const double **values,
                       size_t *count);
    /* Iteration in insertion order: metric i's name (borrowed) and type. */
    size_t (*metric_count)(const collector_record *rec);
    int (*metric_at)(const collector_record *rec, size_t i, const char **name, uint32_t *type);
    /* Timestamp (realtime ns), source instance name and device ("" if unset); borrowed. */
    int64_t (*record_time_ns)(const collector_record *rec);
    const char *(*record_source)(const collector_record *rec);
    const char *(*record_device)(const collector_record *rec);

    /* ---- time and lifecycle ---- */

    /* Current time of COLLECTOR_CLOCK_REALTIME or _MONOTONIC in ns. */
    int64_t (*time_ns)(const collector_host *host, int clock);
    /* The instance's poll interval in ms (sources; 0 for other kinds). */
    int64_t (*interval_ms)(const collector_host *host);
    /* 1 once the host is shutting down or reloading this instance: a long
     * poll() should give up and return -ECANCELED. */
    int (*is_stopping)(const collector_host *host);
    /* A file descriptor that becomes readable when is_stopping() turns 1,
     * for poll(2) next to a socket. Owned by the host; never read or close it. */
    int (*stop_fd)(const collector_host *host);
    /* Directory for small state files (e.g. a coulomb counter), without a
     * trailing slash; it exists. Borrowed for the instance's lifetime. */
    const char *(*state_dir)(const collector_host *host);

    /* ---- ABI 1.1 (a plugin declaring 1.0 checks struct_size first) ---- */

    /* The configured poll interval (ms) of the source that made `rec`, so a
     * sink or calculator can tell fresh from stale without guessing from the
     * gaps it has seen; 0 when unknown. A record a calculator makes carries
     * the interval of the record it was processing. */
    int64_t (*record_interval_ms)(const collector_record *rec);
    /* Make the instance's own file `name` in state_dir() safely: a fresh
     * temporary file (O_CREAT|O_EXCL|O_NOFOLLOW) gets `len` bytes, is
     * fsynced and renamed over `name`; never follows a planted symlink.
     * `name` is a plain file name ([A-Za-z0-9._-], no '/'). 0 or -errno. */
    int (*state_write)(collector_host *host, const char *name, const void *data, size_t len);
    /* Read the instance's state file `name` (at most `size` bytes, O_NOFOLLOW,
     * a regular file only) into `buf`; *len gets the byte count.
     * -ENOENT when there is none. */
    int (*state_read)(collector_host *host, const char *name, void *buf, size_t size,
                      size_t *len);
    /* How the daemon runs: COLLECTOR_RUN_* flags (e.g. a sink in a --once run
     * uses a client id of its own and announces no availability). */
    uint32_t (*run_flags)(const collector_host *host);
    /* Claim a resource other instances must not use in another way, e.g. a
     * database file by its real path with the mode "overlay". 0 when free or
     * claimed with the same `mode`; -EBUSY when another instance claimed it
     * with another mode (*other gets that instance's name, borrowed), and the
     * plugin reports the conflict. Claims last for the configuration being
     * checked or run; call from create(). */
    int (*claim)(collector_host *host, const char *resource, const char *mode,
                 const char **other);
    /* The instances of this configuration that make records of their own
     * (sources, and calculators flagged COLLECTOR_PLUGIN_EMITS), in config
     * order: up to `max` names (borrowed until create() returns) into
     * `names`; returns how many there are, or -ENOSYS when the host cannot
     * say (a test host). For cross-checks in create(), e.g. a sink's list
     * of batteries against the sources that exist. */
    int (*producers)(collector_host *host, const char **names, size_t max);

    /* ---- ABI 1.2 (a plugin declaring 1.0 or 1.1 checks struct_size first) ---- */

    /* Freshness, one rule for every plugin: a record is live until its time
     * plus COLLECTOR_STALE_FACTOR times the configured interval of the source
     * that made it (record_interval_ms); when that is unknown, the host's
     * collector.interval. Returns that instant, realtime ns. */
    int64_t (*record_fresh_until_ns)(const collector_record *rec);
    /* The same rule for a producer instance by name, from the newest record
     * it made: 0 and *until_ns; -ENOENT when there is no such producer or it
     * made no record yet. Thread-safe. */
    int (*source_fresh_until_ns)(const collector_host *host, const char *source,
                                 int64_t *until_ns);
    /* COLLECTOR_RECORD_MEASUREMENT or COLLECTOR_RECORD_EVENT (below). Only
     * a 1.2 plugin flagged COLLECTOR_PLUGIN_EVENTS ever sees an event. */
    uint32_t (*record_kind)(const collector_record *rec);
    /* Ask the source instance cmd->target to perform a command (a sink taking
     * commands from its users, e.g. MQTT). The host checks it (the source
     * offers it and allows it; calculators' vet_command), queues it for that
     * instance (one at a time, between polls) and returns at once: 0 and
     * *id_out, or a negative errno when it cannot even be queued. The outcome
     * comes later as an event record to every sink. `cmd` is borrowed for
     * the call; its id is ignored. */
    int (*command_submit)(collector_host *host, const struct collector_command *cmd,
                          uint64_t *id_out);
    /* A source reports the outcome of command `id` it was given by command():
     * once, from any thread, within the source's own timeouts.
     * `outcome` is a COLLECTOR_OUTCOME_*; `detail` (borrowed for the call, may
     * be NULL) says why, or what the device reports, in one line. */
    void (*command_done)(collector_host *host, uint64_t id, uint32_t outcome,
                         const char *detail);
    /* A sink: `n` records it took (write() returned 0) were not delivered
     * after all (a server refused them, a broker never acknowledged them,
     * they were still buffered at stop()), for the reason `why` (one short
     * phrase, borrowed for the call). The host counts them as dropped, not
     * written, in the sink's one line of totals, which names the reason, so
     * the sink need not log a count of its own. From any thread. */
    void (*records_lost)(collector_host *host, unsigned long n, const char *why);
    /* 1 when source instance `source` offers command `name` and its own
     * `control` setting allows it, else 0 (e.g. for a sink to announce a
     * switch it may send, and show the others read-only). Thread-safe. */
    int (*command_allowed)(const collector_host *host, const char *source, const char *name);

    /* ABI 1.3+: append members here, nowhere else. */
};

/*
 * The descriptor a plugin returns. Threading promise: create() and destroy()
 * run on the host's main thread; the callbacks of one instance never run at
 * the same time; different instances may run in parallel.
 */
struct collector_plugin {
    uint32_t abi_major;   /* frozen: COLLECTOR_ABI_MAJOR the plugin was built with */
    uint32_t abi_minor;   /* frozen: COLLECTOR_ABI_MINOR the plugin was built with */
    uint32_t struct_size; /* frozen: sizeof(struct collector_plugin) at build time */
    uint32_t kind;        /* COLLECTOR_KIND_* */
    const char *name;     /* [a-z0-9_]+, equal to the file name without ".so" */
    const char *version;  /* the plugin's own release string */
    const char *description;
    /* NULL-terminated list of the setting names the plugin reads, besides
     * the host's own (plugin, name, enabled, interval). The host refuses any
     * other key with file:line. NULL: the host does not check. */
    const char *const *settings;

    /* Make an instance. `api` and `host` are borrowed for the instance's
     * lifetime (keep them in the state); `settings` until create returns.
     * Validate every setting here and report with api->setting_error.
     * On success *state_out is the instance's state (may be NULL). On
     * failure nothing of the instance may remain. Required. */
    int (*create)(const struct collector_host_api *api, collector_host *host,
                  const collector_settings *settings, void **state_out);
    /* Source: measure once and api->emit() zero or more records. Return 0
     * when it emitted what it could, a negative errno when the poll failed.
     * The plugin logs why (it knows the device), best once per change of
     * cause; the host counts the failure, backs off, and logs it at debug. */
    int (*poll)(void *state);
    /* Calculator: edit `rec` in place (borrowed for the call). A non-zero
     * return is logged and the record continues unchanged. */
    int (*process)(void *state, collector_record *rec);
    /* Sink: store `rec` (borrowed for the call; copy what you keep).
     * 0 = stored or safely queued by the sink; negative = lost for this sink. */
    int (*write)(void *state, const collector_record *rec);
    /* Optional: push out anything buffered; called before destroy and on
     * SIGHUP. Must return within about a second. */
    int (*flush)(void *state);
    /* Free the instance; called once for every successful create(). */
    void (*destroy)(void *state);

    /* ---- ABI 1.1: declared settings and a two-step lifecycle ----
     * A 1.0 plugin (struct_size of 1.0) reads these as NULL / 0. */

    /* The settings the plugin takes, ended by an entry whose name is NULL.
     * When set, the host checks every key before create() (unknown keys,
     * types, ranges, allowed values, required ones) with file:line and exit
     * 78, expands ${VAR} and ${VAR:-default} in every scalar, and fills in
     * declared defaults: a getter on a declared setting with a default never
     * returns -ENOENT. `settings` (the 1.0 list of names) is then ignored. */
    const struct collector_setting_def *setting_defs;
    /* Optional. Acquire what the instance needs to run: open files and
     * databases, connect, start threads, load state. create() must only
     * validate and allocate (it runs for --check, which must create no
     * file, open no socket and start no thread). Called on the main thread
     * after every instance was created; 0 or a negative errno (logged by
     * the plugin with the reason, then the host gives up on the config). */
    int (*start)(void *state);
    /* Optional. Release what start() acquired, after the final flush; the
     * instance may be started again or destroyed afterwards. Save state here. */
    void (*stop)(void *state);
    /* Sources: the shortest interval (ms) the plugin supports; 0 means the
     * host's floor of 1000 ms (a replay of a capture may declare less). */
    uint32_t min_interval_ms;
    /* Flags COLLECTOR_PLUGIN_* below; 0 for none. */
    uint32_t flags;

    /* ---- ABI 1.2: commands ----
     * A 1.0 or 1.1 plugin reads these as NULL. */

    /* Sources: the commands the plugin can perform, ended by an entry whose
     * name is NULL; NULL for none. Which of them an instance allows is its
     * own setting (e.g. `control`); the host refuses the others. */
    const struct collector_command_def *commands;
    /* Sources: perform `cmd` (borrowed for the call). Called on the
     * instance's poll thread, never during a poll, one command at a time.
     * Report the outcome with api->command_done(cmd->id, ...), inside this
     * call or later from the plugin's own thread; return 0 then. A negative
     * errno instead means the command was not started (the host reports it
     * as refused with that reason). */
    int (*command)(void *state, const struct collector_command *cmd);
    /* Calculators: look at a command before it is queued for its source.
     * 0 lets it pass; -EPERM refuses it with a one-line reason written to
     * `reason` (size bytes). Called on the submitting thread: the plugin
     * locks what it shares with process(). */
    int (*vet_command)(void *state, const struct collector_command *cmd, char *reason,
                       size_t size);

    /* ABI 1.3+: append members here, nowhere else. */
};

/*
 * ABI 1.1 return codes with a meaning of their own (only for a plugin whose
 * abi_minor is 1 or more; a 1.0 plugin's -EAGAIN is a failure like another):
 *  - write() returning -EAGAIN: "not stored yet, keep it": the host keeps
 *    the record in a bounded queue of that sink and calls write() with it
 *    again later, with backoff, in order. Any other negative: lost for
 *    this sink (counted, logged once per cause).
 *  - flush() returning -EAGAIN: something is still on its way; the host
 *    calls it again until 0 or its deadline (--once, shutdown, reload), and
 *    then counts and logs what was not delivered.
 *  - A calculator's process() may call api->emit() with a record of its own
 *    (from record_new()); it enters the pipeline after the current record,
 *    at the calculator after this one. Its source is this instance.
 */

/* Run flags from run_flags(). */
#define COLLECTOR_RUN_ONCE  0x1u /* --once: poll once, deliver, exit */
#define COLLECTOR_RUN_CHECK 0x2u /* --check: create() only, never start() */

/* Plugin flags. */
#define COLLECTOR_PLUGIN_EMITS 0x1u /* a calculator that emits records of its own */
/* ABI 1.2: a calculator or sink that takes event records (record_kind
 * COLLECTOR_RECORD_EVENT, e.g. a command's outcome); the host gives them
 * to no other plugin. */
#define COLLECTOR_PLUGIN_EVENTS 0x2u

/* Setting types for collector_setting_def.type. */
#define COLLECTOR_SETTING_STRING 1u
#define COLLECTOR_SETTING_INT    2u /* int64; a string "${VAR}" is expanded, then parsed */
#define COLLECTOR_SETTING_DOUBLE 3u /* an integer is accepted too */
#define COLLECTOR_SETTING_BOOL   4u /* true/false ("true"/"false" after ${VAR} expansion) */
#define COLLECTOR_SETTING_LIST   5u /* a list, array or group: the plugin checks its members */

/* Setting flags for collector_setting_def.flags. */
#define COLLECTOR_SETTING_REQUIRED 0x01u /* must be present (a default makes no sense) */
#define COLLECTOR_SETTING_SECRET   0x02u /* never logged or shown; --describe hides the default */
/* A file the instance reads: absolute or "", and when it exists a regular
 * file (the host refuses a FIFO, device, directory or socket before create()). */
#define COLLECTOR_SETTING_PATH     0x04u
#define COLLECTOR_SETTING_MIN      0x08u /* `min` applies (INT, DOUBLE; STRING: min length) */
#define COLLECTOR_SETTING_MAX      0x10u /* `max` applies (INT, DOUBLE; STRING: max length) */
/* ABI 1.2, with PATH: a device node (a serial port), so a character device
 * is required instead of a regular file. An older host ignores it. */
#define COLLECTOR_SETTING_DEVICE   0x20u

/* One declared setting. */
struct collector_setting_def {
    const char *name;          /* lower_snake_case; NULL ends the table */
    uint32_t type;             /* COLLECTOR_SETTING_STRING ... */
    uint32_t flags;            /* COLLECTOR_SETTING_REQUIRED | ... */
    const char *default_value; /* as text ("115200", "modbus", "true", "0.5"); NULL: none */
    double min, max;           /* with flags MIN / MAX */
    const char *const *allowed; /* STRING: NULL-terminated allowed values; NULL: any */
    const char *unit;          /* "s", "V", "ms"... or NULL */
    const char *description;   /* one line, for --describe and collector.conf(5) */
};

/* Freshness: a record counts as live for this many of its source's intervals. */
#define COLLECTOR_STALE_FACTOR 3

/* Record kinds from record_kind(). */
#define COLLECTOR_RECORD_MEASUREMENT 0u /* what a source measured (and calculators added) */
#define COLLECTOR_RECORD_EVENT       1u /* something that happened, e.g. a command's outcome */

/* Command outcomes for command_done() and the outcome event. */
#define COLLECTOR_OUTCOME_CONFIRMED     1u /* the device reports the requested state */
#define COLLECTOR_OUTCOME_REFUSED       2u /* not sent to the device, with the reason */
#define COLLECTOR_OUTCOME_NOT_CONFIRMED 3u /* sent, but the device reports another state */
#define COLLECTOR_OUTCOME_FAILED        4u /* sent or not, no answer: the state is unknown */

/* Command flags for collector_command.flags. */
#define COLLECTOR_COMMAND_FORCE 0x1u /* override a calculator's safety refusal (not the allow list) */

/* One command a source offers. */
struct collector_command_def {
    const char *name;        /* [a-z0-9_]+, e.g. "charge"; NULL ends the table */
    uint32_t type;           /* COLLECTOR_SETTING_BOOL: value "on" or "off" */
    const char *description; /* one line, for --describe */
};

/* One command, as submitted and as given to command() and vet_command(). */
struct collector_command {
    uint32_t struct_size; /* sizeof(struct collector_command) of the maker */
    uint32_t flags;       /* COLLECTOR_COMMAND_* */
    uint64_t id;          /* the host's number for it (0 in command_submit) */
    const char *target;   /* the source instance, e.g. "battery1" */
    const char *name;     /* the command, e.g. "charge" */
    const char *value;    /* "on" or "off" for a BOOL command */
    int64_t duration_ms;  /* > 0: return to the opposite value after this long */
    const char *origin;   /* who asked, one word and detail: "mqtt", "socket uid 1000", "cli", "timer" */
};

/* Bytes a struct must span to contain member M of the host API. */
#define COLLECTOR_API_HAS(member)                                                                 \
    (offsetof(struct collector_host_api, member) +                                                 \
     sizeof(((struct collector_host_api *)0)->member))

/* The one symbol a plugin exports. No side effects: the host may call it
 * only to read the descriptor (e.g. for --check). */
typedef const struct collector_plugin *(*collector_plugin_entry_fn)(void);
COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void);

/* Fill the frozen head of a descriptor: COLLECTOR_PLUGIN_HEAD, .kind = ... */
#define COLLECTOR_PLUGIN_HEAD                                                                     \
    .abi_major = COLLECTOR_ABI_MAJOR, .abi_minor = COLLECTOR_ABI_MINOR,                            \
    .struct_size = (uint32_t)sizeof(struct collector_plugin)

#ifdef __cplusplus
}
#endif

#endif /* COLLECTOR_PLUGIN_H */
