/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pylontech: serve a battery's or a bank's state and charge limits to an
 * inverter as a Pylontech low-voltage battery, over RS485 (answering the
 * inverter's polls) or CAN (six frames every period).
 *
 * Safety: the limits come from the charge_limits calculator, never from
 * here; a record without them is never served. When the served record is
 * no longer fresh (the host's one rule: 3 x its source's interval) the link
 * goes silent by default, so the inverter reports lost communication and
 * falls back to its own settings; on_stale = "block" answers instead with
 * charging and discharging disabled. observe = true computes and logs what
 * would be sent and transmits nothing. One line when the link goes stale,
 * one when it recovers.
 *
 * Threads: write() (the pipeline's thread) keeps the newest values under
 * `lock`; one thread of this sink, started by start(), serves the link. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <collector/plugin.h>

#include "plugins/libplugkit/sources.h"
#include "plugins/libpylon/pylon.h"
#include "plugins/pylontech/links.h"

#define MAX_PACKS 12 /* pack addresses 2..13 of one group */
#define NAME_LEN 64
#define KEEPALIVE_TIMEOUT_NS (10LL * 1000000000LL)
#define NS_PER_MS 1000000LL
#define TX_WAIT_MS 500 /* a peer that reads nothing: how long one transmit waits */

enum link_kind { LINK_RS485, LINK_CAN };
enum on_stale { STALE_SILENT, STALE_BLOCK };

/* The newest values of one battery (or of the bank). */
struct served {
    char name[NAME_LEN];
    int seen, has_limits;
    int64_t fresh_until_ns;
    struct pylon_pack pack;
    struct pylon_limits limits;
};

struct pylontech {
    const struct collector_host_api *api;
    collector_host *host;
    /* settings */
    enum link_kind link;
    char device[256], interface[128];
    long baud;
    char source[NAME_LEN]; /* "" = auto: a bank's record, else the only battery */
    enum on_stale on_stale;
    int observe, dcl_negative;
    uint8_t base_adr;
    int64_t can_period_ns;
    struct pylon_identity id;
    char manufacturer[9];
    struct plugkit_sources pack_names; /* none: auto (the source, or a bank's members) */
    char producers[MAX_PACKS + 1][NAME_LEN]; /* the host's producers, config order */
    size_t nproducers;

    /* shared with the pipeline's thread */
    pthread_mutex_t lock;
    struct served system;            /* the source's record */
    struct served packs[MAX_PACKS];  /* per pack address */
    size_t npacks;
    int auto_packs;
    int said_no_limits;
    /* a bank's members as its records show them: the bank emits its record
     * right after a member's, with that record's time */
    unsigned members;      /* bits over producers[] */
    struct served last;    /* the newest battery record (one with cells) */
    int64_t last_time_ns;

    /* the link's thread */
    pthread_t thread;
    int running;
    int wake[2];
    int fd;
    int stale; /* -1 until first judged */
    int64_t keepalive_ns;
    int keepalive_lost;
    char rx[PYLON_FRAME_MAX];
    size_t rx_len;
    int in_frame;
    char tx[PYLON_FRAME_MAX]; /* the answer, built under the lock, sent after it */
    size_t tx_len;
    int tx_failing; /* "takes no more" said; until a write goes through */
    struct pylon_limits last_observed;
    int observed_once;
};

static const char *const link_names[] = {"rs485", "can", NULL};
static const char *const stale_names[] = {"silent", "block", NULL};
static const char *const sign_names[] = {"negative", "positive", NULL};

static const struct collector_setting_def setting_defs[] = {
    {.name = "link", .type = COLLECTOR_SETTING_STRING, .flags = COLLECTOR_SETTING_REQUIRED,
     .allowed = link_names, .description = "rs485 (a serial port) or can (SocketCAN)"},
    {.name = "device", .type = COLLECTOR_SETTING_STRING,
     .flags = COLLECTOR_SETTING_PATH | COLLECTOR_SETTING_DEVICE,
     .default_value = "", .description = "rs485: the serial port, e.g. /dev/ttyUSB0"},
    {.name = "baudrate", .type = COLLECTOR_SETTING_INT, .default_value = "9600",
     .unit = "bit/s",
     .description = "rs485: 9600 (Voltronic PYL mode) or 115200 (the spec's default)"},
    {.name = "interface", .type = COLLECTOR_SETTING_STRING, .default_value = "can0",
     .description = "can: the interface, e.g. can0, or unix:PATH (a stand-in carrying "
                    "struct can_frame packets)"},
    {.name = "period", .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "1.0", .min = 0.1,
     .max = 10.0, .unit = "s", .description = "can: how often the six frames go out"},
    {.name = "source", .type = COLLECTOR_SETTING_STRING, .default_value = "",
     .description = "the battery or bank served; default: the bank if one is configured, "
                    "else the only battery"},
    {.name = "packs", .type = COLLECTOR_SETTING_LIST,
     .description = "rs485: the batteries answered at pack addresses 2, 3, ... (default: the "
                    "source, or the bank's batteries in configuration order)"},
    {.name = "address", .type = COLLECTOR_SETTING_INT,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "2", .min = 2,
     .max = 13, .description = "rs485: the first pack's address (ADR)"},
    {.name = "on_stale", .type = COLLECTOR_SETTING_STRING, .default_value = "silent",
     .allowed = stale_names,
     .description = "when the data is stale: silent (the inverter sees lost communication) "
                    "or block (answer with charge and discharge disabled)"},
    {.name = "observe", .type = COLLECTOR_SETTING_BOOL, .default_value = "false",
     .description = "compute and log what would be sent, transmit nothing"},
    {.name = "manufacturer", .type = COLLECTOR_SETTING_STRING,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "PYLON", .min = 1,
     .max = 8, .description = "the maker name sent (CAN 0x35E, RS485 0x51); Deye wants PYLONDIY"},
    {.name = "discharge_limit_sign", .type = COLLECTOR_SETTING_STRING,
     .default_value = "negative", .allowed = sign_names,
     .description = "rs485 0x92: the discharge current limit as real packs send it "
                    "(negative) or positive"},
    {.name = NULL},
};

/* ---- settings ---- */

static int printable(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s < ' ' || *s > '~')
            return 0;
    return 1;
}

static int read_packs(struct pylontech *p, const collector_settings *s)
{
    int rc = plugkit_sources_from_list(p->api, p->host, s, "packs", MAX_PACKS, &p->pack_names);
    return rc == -ENOENT ? 0 : rc;
}

/* Producers the host knows (config order); a name that is none of them is
 * a typo, said at --check. */
static int check_known(struct pylontech *p, const collector_settings *s, const char *key,
                       const char *name)
{
    const char *names[64];
    int n = p->api->producers(p->host, names, 64);

    if (n < 0)
        return 0; /* a test host: cannot say */
    for (int i = 0; i < n && i < 64; i++)
        if (strcmp(names[i], name) == 0)
            return 0;
    p->api->setting_error(p->host, s, key, "%s is not a source or bank of this configuration",
                          name);
    return -EINVAL;
}

static int py_create(const struct collector_host_api *api, collector_host *host,
                     const collector_settings *s, void **state_out)
{
    struct pylontech *p = calloc(1, sizeof(*p));
    const char *str = NULL;
    int64_t i64 = 0;
    double period = 1.0;
    int observe = 0, rc = 0;

    if (p == NULL)
        return -ENOMEM;
    p->api = api;
    p->host = host;
    p->fd = p->wake[0] = p->wake[1] = -1;
    p->stale = -1;
    api->setting_string(s, "link", &str);
    p->link = strcmp(str, "can") == 0 ? LINK_CAN : LINK_RS485;
    api->setting_string(s, "device", &str);
    snprintf(p->device, sizeof(p->device), "%s", str);
    api->setting_int(s, "baudrate", &i64);
    p->baud = (long)i64;
    api->setting_string(s, "interface", &str);
    snprintf(p->interface, sizeof(p->interface), "%s", str);
    api->setting_double(s, "period", &period);
    p->can_period_ns = (int64_t)llround(period * 1e9);
    api->setting_string(s, "source", &str);
    snprintf(p->source, sizeof(p->source), "%s", str);
    api->setting_int(s, "address", &i64);
    p->base_adr = (uint8_t)i64;
    api->setting_string(s, "on_stale", &str);
    p->on_stale = strcmp(str, "block") == 0 ? STALE_BLOCK : STALE_SILENT;
    api->setting_bool(s, "observe", &observe);
    p->observe = observe;
    api->setting_string(s, "discharge_limit_sign", &str);
    p->dcl_negative = strcmp(str, "negative") == 0;
    api->setting_string(s, "manufacturer", &str);
    snprintf(p->manufacturer, sizeof(p->manufacturer), "%s", str);
    snprintf(p->id.manufacturer, sizeof(p->id.manufacturer), "%s", str);
    snprintf(p->id.battery_name, sizeof(p->id.battery_name), "JK-BMS");
    p->id.sw_major = 1;
    p->id.sw_minor = 0;

    if (!printable(p->manufacturer)) {
        api->setting_error(host, s, "manufacturer", "want printable ASCII");
        rc = -EINVAL;
    }
    if (rc == 0 && p->link == LINK_RS485) {
        int ok = 0;
        for (size_t k = 0; links_baud_rates[k] != 0; k++)
            ok |= links_baud_rates[k] == p->baud;
        if (p->device[0] == '\0') {
            api->setting_error(host, s, "device", "link = \"rs485\" needs the serial port");
            rc = -EINVAL;
        } else if (!ok) {
            api->setting_error(host, s, "baudrate",
                               "%ld: want 9600, 19200, 38400, 57600 or 115200", p->baud);
            rc = -EINVAL;
        }
    }
    if (rc == 0 && p->link == LINK_CAN && !links_can_name_ok(p->interface)) {
        api->setting_error(host, s, "interface",
                           "\"%s\": want an interface name (can0) or unix:/absolute/path",
                           p->interface);
        rc = -EINVAL;
    }
    if (rc == 0)
        rc = read_packs(p, s);
    if (rc == 0 && p->source[0] != '\0')
        rc = check_known(p, s, "source", p->source);
    for (size_t k = 0; rc == 0 && k < p->pack_names.n; k++)
        rc = check_known(p, s, "packs", plugkit_sources_name(&p->pack_names, k));
    if (rc == 0) {
        /* borrowed until create() returns: keep a copy for auto packs */
        const char *names[MAX_PACKS + 1];
        int n = api->producers(host, names, MAX_PACKS + 1);
        for (int i = 0; i < n && i < MAX_PACKS + 1; i++)
            snprintf(p->producers[p->nproducers++], NAME_LEN, "%s", names[i]);
        /* one producer: it is the source; several: a bank's record decides */
        if (p->source[0] == '\0' && n == 1)
            snprintf(p->source, sizeof(p->source), "%s", names[0]);
    }
    if (rc < 0) {
        free(p);
        return rc;
    }
    pthread_mutex_init(&p->lock, NULL);
    for (size_t k = 0; k < p->pack_names.n; k++)
        snprintf(p->packs[k].name, NAME_LEN, "%s", plugkit_sources_name(&p->pack_names, k));
    p->npacks = p->pack_names.n;
    p->auto_packs = p->pack_names.n == 0;
    *state_out = p;
    return 0;
}

/* ---- records to protocol values ---- */

static uint32_t mv(double v)
{
    return v > 0 && isfinite(v) ? (uint32_t)llround(v * 1000.0) : 0;
}

/* A limit in the protocol's steps (`scale` per unit), never past what the
 * record allows: down for CVL and the currents, up (`up`) for DVL; the 1e-6
 * absorbs binary fractions (55.2 V is 55200 mV, not 55199). */
static int64_t limit_steps(double v, double scale, int up, double max)
{
    if (!(v > 0) || !isfinite(v))
        return 0;
    v = fmin(v, max) * scale;
    return up ? (int64_t)ceil(v - 1e-6) : (int64_t)floor(v + 1e-6);
}

static int16_t dc(double c)
{
    if (!isfinite(c))
        return 0;
    return (int16_t)fmax(-2731.0, fmin(3276.0, round(c * 10.0)));
}

static const struct {
    const char *name;
    uint32_t bit;
} error_map[] = {
    {"cell over-voltage", PYLON_ALARM_CELL_OV},
    {"charge over-voltage", PYLON_ALARM_CELL_OV},
    {"pack over-voltage", PYLON_ALARM_PACK_OV},
    {"cell under-voltage", PYLON_ALARM_CELL_UV},
    {"discharge under-voltage", PYLON_ALARM_CELL_UV},
    {"pack under-voltage", PYLON_ALARM_PACK_UV},
    {"charge over-temperature", PYLON_ALARM_CELL_OT},
    {"discharge over-temperature", PYLON_ALARM_CELL_OT},
    {"battery over-temperature", PYLON_ALARM_CELL_OT},
    {"battery box over-temperature", PYLON_ALARM_CELL_OT},
    {"charge under-temperature", PYLON_ALARM_CELL_UT},
    {"battery under-temperature", PYLON_ALARM_CELL_UT},
    {"discharge under-temperature alarm", PYLON_ALARM_CELL_UT},
    {"MOSFET over-temperature", PYLON_ALARM_MOS_OT},
    {"charge over-current", PYLON_ALARM_CHARGE_OC},
    {"charge short circuit", PYLON_ALARM_CHARGE_OC},
    {"discharge over-current", PYLON_ALARM_DISCHARGE_OC},
    {"discharge short circuit", PYLON_ALARM_DISCHARGE_OC},
    {"discharge OCP II", PYLON_ALARM_DISCHARGE_OC},
    {"discharge OCP III", PYLON_ALARM_DISCHARGE_OC},
    {"coprocessor communication error", PYLON_ALARM_SYSTEM},
    {"charge MOSFET abnormal", PYLON_ALARM_SYSTEM},
    {"discharge MOSFET abnormal", PYLON_ALARM_SYSTEM},
    {"temperature sensor anomaly", PYLON_ALARM_SYSTEM},
    {"cell voltage difference", PYLON_ALARM_IMBALANCE},
};

/* The BMS's error names (", "-separated) as protocol alarm bits. */
static uint32_t alarm_bits(const char *errors)
{
    uint32_t bits = 0;

    while (errors != NULL && *errors != '\0') {
        const char *end = strstr(errors, ", ");
        size_t len = end != NULL ? (size_t)(end - errors) : strlen(errors);
        for (size_t i = 0; i < sizeof(error_map) / sizeof(error_map[0]); i++)
            if (strlen(error_map[i].name) == len && strncmp(error_map[i].name, errors, len) == 0)
                bits |= error_map[i].bit;
        errors = end != NULL ? end + 2 : NULL;
    }
    return bits;
}

static void read_record(const struct pylontech *p, const collector_record *rec,
                        struct served *out)
{
    const struct collector_host_api *api = p->api;
    struct pylon_pack *k = &out->pack;
    struct pylon_limits *l = &out->limits;
    const double *v;
    size_t n;
    double d;
    int64_t i64;
    int b;
    const char *str;

    memset(k, 0, sizeof(*k));
    memset(l, 0, sizeof(*l));
    if (api->get_doubles(rec, "cells", &v, &n) == 0)
        for (size_t i = 0; i < n && i < PYLON_CELLS_MAX; i++)
            k->cell_mv[k->ncells++] = (uint16_t)fmin(65535.0, (double)mv(v[i]));
    /* [0] the BMS board (MOSFET) probe, then the battery probes */
    if (api->get_double(rec, "mos_temperature", &d) == 0)
        k->temp_dc[k->ntemps++] = dc(d);
    else if (api->get_double(rec, "temperature", &d) == 0)
        k->temp_dc[k->ntemps++] = dc(d);
    if (api->get_doubles(rec, "temperatures", &v, &n) == 0) {
        for (size_t i = 0; i < n && k->ntemps < PYLON_TEMPS_MAX; i++)
            k->temp_dc[k->ntemps++] = dc(v[i]);
        /* CAN's one temperature: the hottest probe of all, kept or not */
        for (size_t i = 0; i < n; i++)
            if (isfinite(v[i]) && (!k->has_hottest || dc(v[i]) > k->hottest_dc)) {
                k->hottest_dc = dc(v[i]);
                k->has_hottest = 1;
            }
    }
    for (unsigned i = 0; i < k->ntemps; i++)
        if (!k->has_hottest || k->temp_dc[i] > k->hottest_dc) {
            k->hottest_dc = k->temp_dc[i];
            k->has_hottest = 1;
        }
    if (api->get_double(rec, "battery_current", &d) == 0 && isfinite(d))
        k->current_ma = (int32_t)llround(d * 1000.0);
    if (api->get_double(rec, "battery_voltage", &d) == 0)
        k->voltage_mv = mv(d);
    if (api->get_double(rec, "capacity_remaining_ah", &d) == 0)
        k->remaining_mah = mv(d);
    if (api->get_double(rec, "capacity_nominal_ah", &d) == 0)
        k->total_mah = mv(d);
    if (api->get_int(rec, "cycle_count", &i64) == 0 && i64 >= 0)
        k->cycles = (uint16_t)(i64 > 65535 ? 65535 : i64);
    if (api->get_double(rec, "battery_soc", &d) == 0 || api->get_double(rec, "bms_soc", &d) == 0)
        k->soc = (uint8_t)fmax(0.0, fmin(100.0, round(d)));
    k->soh = 100;
    if (api->get_int(rec, "soh", &i64) == 0 && i64 >= 0 && i64 <= 100)
        k->soh = (uint8_t)i64;
    k->charge_fet = api->get_bool(rec, "charging_enabled", &b) == 0 ? (uint8_t)b : 0;
    k->discharge_fet = api->get_bool(rec, "discharging_enabled", &b) == 0 ? (uint8_t)b : 0;
    if (api->get_string(rec, "errors", &str) == 0)
        k->alarm_bits = alarm_bits(str);
    if (api->get_string(rec, "bms_serial", &str) == 0)
        snprintf(k->serial, sizeof(k->serial), "%s", str);
    for (size_t i = 0; k->serial[i] != '\0'; i++)
        if (k->serial[i] < ' ' || k->serial[i] > '~')
            k->serial[i] = '?';

    out->has_limits = api->get_double(rec, "charge_voltage_limit_v", &d) == 0;
    if (out->has_limits) {
        l->cvl_mv = (uint32_t)limit_steps(d, 1000.0, 0, 1e6);
        if (api->get_double(rec, "discharge_voltage_limit_v", &d) == 0)
            l->dvl_mv = (uint32_t)limit_steps(d, 1000.0, 1, 1e6);
        if (api->get_double(rec, "charge_current_limit_a", &d) == 0)
            l->ccl_da = (int32_t)limit_steps(d, 10.0, 0, 3276.0);
        if (api->get_double(rec, "discharge_current_limit_a", &d) == 0)
            l->dcl_da = (int32_t)limit_steps(d, 10.0, 0, 3276.0);
        /* an enable with no current to go with it is not sent */
        l->charge_enable = api->get_bool(rec, "charge_enable", &b) == 0 && b && l->ccl_da > 0;
        l->discharge_enable =
            api->get_bool(rec, "discharge_enable", &b) == 0 && b && l->dcl_da > 0;
        l->force_charge = api->get_bool(rec, "force_charge", &b) == 0 && b;
    }
    out->seen = 1;
    out->fresh_until_ns = api->record_fresh_until_ns(rec);
}

static struct served *pack_slot(struct pylontech *p, const char *source)
{
    for (size_t i = 0; i < p->npacks; i++)
        if (strcmp(p->packs[i].name, source) == 0)
            return &p->packs[i];
    return NULL;
}

/* Auto packs: the source itself when it is a battery; a bank's members
 * (learned, see `members`) in configuration order, each keeping its
 * values when the list grows. */
static void auto_packs(struct pylontech *p, int source_is_bank)
{
    struct served old[MAX_PACKS];
    size_t nold = p->npacks;

    memcpy(old, p->packs, nold * sizeof(old[0]));
    p->npacks = 0;
    if (!source_is_bank) {
        snprintf(p->packs[0].name, NAME_LEN, "%s", p->source);
        p->npacks = 1;
        return;
    }
    for (size_t i = 0; i < p->nproducers && p->npacks < MAX_PACKS; i++) {
        struct served *s = &p->packs[p->npacks];
        if (strcmp(p->producers[i], p->source) == 0 || !(p->members & (1u << i)))
            continue;
        memset(s, 0, sizeof(*s));
        snprintf(s->name, NAME_LEN, "%s", p->producers[i]);
        for (size_t k = 0; k < nold; k++)
            if (strcmp(old[k].name, s->name) == 0)
                *s = old[k];
        p->npacks++;
    }
}

/* The bank's record follows the member record it was made from: learn that
 * member; a new one joins the auto packs with the values just read. */
static void learn_member(struct pylontech *p, int64_t t)
{
    for (size_t i = 0; i < p->nproducers && i < 32; i++) {
        struct served *slot;
        if (t != p->last_time_ns || strcmp(p->producers[i], p->last.name) != 0 ||
            (p->members & (1u << i)))
            continue;
        p->members |= 1u << i;
        if (!p->auto_packs)
            return;
        auto_packs(p, 1);
        slot = pack_slot(p, p->last.name);
        if (slot != NULL)
            *slot = p->last;
        return;
    }
}

static int py_write(void *state, const collector_record *rec)
{
    struct pylontech *p = state;
    const struct collector_host_api *api = p->api;
    const char *source = api->record_source(rec);
    int64_t members;
    int is_bank;
    struct served *slot;
    const double *cells;
    size_t ncells;
    double cell_min;

    is_bank = api->get_int(rec, "members_total", &members) == 0;
    pthread_mutex_lock(&p->lock);
    if (p->source[0] == '\0' && is_bank) {
        snprintf(p->source, sizeof(p->source), "%s", source);
        api->log(p->host, COLLECTOR_LOG_INFO, "serving the bank %s", source);
    }
    if (!is_bank && (api->get_doubles(rec, "cells", &cells, &ncells) == 0 ||
                     api->get_double(rec, "bms_cell_min_v", &cell_min) == 0)) {
        read_record(p, rec, &p->last); /* perhaps a bank member: see learn_member() */
        snprintf(p->last.name, NAME_LEN, "%s", source);
        p->last_time_ns = api->record_time_ns(rec);
    }
    if (strcmp(source, p->source) == 0) {
        if (is_bank)
            learn_member(p, api->record_time_ns(rec));
        else if (p->auto_packs && p->npacks == 0)
            auto_packs(p, 0);
        read_record(p, rec, &p->system);
        snprintf(p->system.name, NAME_LEN, "%s", source);
        if (!p->system.has_limits && !p->said_no_limits) {
            api->log(p->host, COLLECTOR_LOG_ERROR,
                     "%s's records carry no charge limits: add the charge_limits calculator; "
                     "nothing is served until then",
                     source);
            p->said_no_limits = 1;
        }
    }
    slot = pack_slot(p, source);
    if (slot != NULL && slot != &p->system)
        read_record(p, rec, slot);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

/* ---- the link's thread ---- */

static int64_t now_ns(const struct pylontech *p)
{
    return p->api->time_ns(p->host, COLLECTOR_CLOCK_REALTIME);
}

static int64_t mono_ns(const struct pylontech *p)
{
    return p->api->time_ns(p->host, COLLECTOR_CLOCK_MONOTONIC);
}

/* A pack's (or the system's) newest values are live at `now`. */
static int is_fresh(const struct served *s, int64_t now)
{
    return s->seen && now <= s->fresh_until_ns;
}

/* Is the served record live? Said once per change. Called with the lock. */
static int judge(struct pylontech *p, int64_t now)
{
    int stale = !p->system.has_limits || !is_fresh(&p->system, now);

    if (stale != p->stale) {
        if (stale && p->stale >= 0)
            p->api->log(p->host, COLLECTOR_LOG_WARNING,
                        "%s: no fresh record: the %s link %s", p->source[0] ? p->source : "source",
                        p->link == LINK_CAN ? "CAN" : "RS485",
                        p->on_stale == STALE_BLOCK
                            ? "answers with charge and discharge disabled"
                            : "is silent (the inverter falls back to its own settings)");
        else if (!stale)
            p->api->log(p->host, COLLECTOR_LOG_INFO, "%s: fresh data: serving the inverter%s",
                        p->source, p->observe ? " (observe: nothing is transmitted)" : "");
        p->stale = stale;
    }
    return stale;
}

/* The limits sent while blocking: charge and discharge disabled, currents
 * at the protocol's smallest step (some inverters ignore zeros). */
static struct pylon_limits blocked(const struct served *s)
{
    struct pylon_limits l = {0};

    l.cvl_mv = s->limits.cvl_mv;
    l.dvl_mv = s->limits.dvl_mv;
    l.ccl_da = 1;
    l.dcl_da = 1;
    return l;
}

static void observe_limits(struct pylontech *p, const struct pylon_limits *l)
{
    if (p->observed_once && memcmp(l, &p->last_observed, sizeof(*l)) == 0)
        return;
    p->last_observed = *l;
    p->observed_once = 1;
    p->api->log(p->host, COLLECTOR_LOG_INFO,
                "observe: would send CVL %.2f V, DVL %.2f V, charge %.1f A, discharge %.1f A, "
                "charge %s, discharge %s%s",
                l->cvl_mv / 1000.0, l->dvl_mv / 1000.0, l->ccl_da / 10.0, l->dcl_da / 10.0,
                l->charge_enable ? "on" : "off", l->discharge_enable ? "on" : "off",
                l->force_charge ? ", force charge" : "");
}

/* Write all of buf. A peer that reads nothing gets TX_WAIT_MS in all, then
 * the rest is dropped (a late answer is no answer; CAN sends again next
 * period); stop() ends the wait at once. Called without the lock, so write()
 * (the pipeline's thread) never waits on the wire. 0 or -errno; one line
 * when writes start failing, one when they go through again. */
static int transmit(struct pylontech *p, const void *buf, size_t len)
{
    const uint8_t *b = buf;
    const char *name = p->link == LINK_CAN ? "CAN" : "RS485";
    int64_t deadline = mono_ns(p) + TX_WAIT_MS * NS_PER_MS;
    size_t off = 0;
    int rc = 0;

    while (off < len && rc == 0) {
        ssize_t w = write(p->fd, b + off, len - off);
        int64_t left;
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            rc = w < 0 ? -errno : -EIO;
            break;
        }
        left = deadline - mono_ns(p);
        if (left <= 0) {
            rc = -ETIMEDOUT;
            break;
        }
        {
            struct pollfd pfd[2] = {{.fd = p->fd, .events = POLLOUT},
                                    {.fd = p->wake[0], .events = POLLIN}};
            if (poll(pfd, 2, (int)((left + NS_PER_MS - 1) / NS_PER_MS)) > 0 &&
                pfd[1].revents != 0)
                rc = -ECANCELED; /* stop(): the wake byte stays for serve() */
        }
    }
    if (rc < 0 && rc != -ECANCELED && !p->tx_failing) {
        p->api->log(p->host, COLLECTOR_LOG_WARNING,
                    "the %s link takes no more (%s): dropped, and said once until a write "
                    "goes through",
                    name, rc == -ETIMEDOUT ? "the other end reads nothing" : strerror(-rc));
        p->tx_failing = 1;
    } else if (rc == 0 && p->tx_failing) {
        p->api->log(p->host, COLLECTOR_LOG_INFO, "writes to the %s link go through again", name);
        p->tx_failing = 0;
    }
    return rc;
}

/* ---- RS485 ---- */

/* The pack behind address `adr`, or -1. */
static int pack_index(const struct pylontech *p, uint8_t adr)
{
    if (adr < p->base_adr || adr >= p->base_adr + p->npacks)
        return -1;
    return adr - p->base_adr;
}

/* Build the answer into p->tx; frame_in() sends it once the lock is let go. */
static void reply(struct pylontech *p, const struct pylon_frame *req, uint8_t rtn,
                  const uint8_t *info, size_t info_len)
{
    size_t n = pylon_frame_encode(req->ver, req->adr, PYLON_CID1_BATTERY, rtn, info, info_len,
                                  p->tx, sizeof(p->tx));

    if (n == 0)
        return;
    if (p->observe) {
        p->api->log(p->host, COLLECTOR_LOG_DEBUG, "observe: would answer %.*s", (int)n - 1,
                    p->tx);
        return;
    }
    p->tx_len = n;
}

/* Answer one request. Called with the lock held. */
static void answer(struct pylontech *p, const struct pylon_frame *rq, int stale)
{
    uint8_t info[PYLON_INFO_MAX];
    size_t n = 0;
    uint8_t target = rq->info_len > 0 ? rq->info[0] : rq->adr;
    int group = target == 0xFF, k = pack_index(p, target);
    /* analog values and alarms: live data, never served stale */
    int pack_data = rq->cid2 == PYLON_CMD_ANALOG || rq->cid2 == PYLON_CMD_ALARM;
    int64_t now = now_ns(p);
    struct pylon_limits l;

    /* (stale and silent or observing: frame_in() answered nothing) */
    switch (rq->cid2) {
    case PYLON_CMD_VERSION:
        break;
    case PYLON_CMD_MAKER:
        n = pylon_info_maker(&p->id, info, sizeof(info));
        break;
    case PYLON_CMD_SYS_INFO:
        n = pylon_info_sys_info(&p->id, p->npacks, info, sizeof(info));
        break;
    case PYLON_CMD_SYSPARAM: {
        struct pylon_sysparam sp = {
            .cell_high_mv = 3650, .cell_low_mv = 3000, .cell_under_mv = 2800,
            .charge_high_dc = 550, .charge_low_dc = 0,
            .discharge_high_dc = 550, .discharge_low_dc = -100};
        /* its current limits are the served ones: blocked when stale */
        l = stale ? blocked(&p->system) : p->system.limits;
        sp.ccl_da = l.ccl_da;
        sp.dcl_da = l.dcl_da;
        unsigned cells = p->system.pack.ncells ? p->system.pack.ncells
                         : p->npacks && p->packs[0].pack.ncells ? p->packs[0].pack.ncells
                                                                : 16;
        sp.module_high_mv = cells * 3650u;
        sp.module_low_mv = cells * 3000u;
        sp.module_under_mv = cells * 2800u;
        n = pylon_info_sysparam(&sp, info, sizeof(info));
        break;
    }
    case PYLON_CMD_ANALOG:
    case PYLON_CMD_ALARM:
    case PYLON_CMD_MANAGEMENT:
    case PYLON_CMD_SERIAL:
    case PYLON_CMD_SOFTWARE:
        if (rq->info_len != 1 || (!group && k < 0) ||
            (group && rq->cid2 != PYLON_CMD_ANALOG && rq->cid2 != PYLON_CMD_ALARM)) {
            reply(p, rq, rq->info_len != 1 ? PYLON_RTN_FORMAT : PYLON_RTN_ADR, NULL, 0);
            return;
        }
        if (pack_data && (stale || (!group && !is_fresh(&p->packs[k], now)))) {
            reply(p, rq, PYLON_RTN_INTERNAL, NULL, 0); /* the system or that pack is stale */
            return;
        }
        if (pack_data) {
            struct pylon_pack packs[MAX_PACKS];
            size_t np = 0;
            for (size_t i = 0; group && i < p->npacks; i++)
                if (is_fresh(&p->packs[i], now))
                    packs[np++] = p->packs[i].pack;
            if (rq->cid2 == PYLON_CMD_ANALOG)
                n = group ? pylon_info_analog_group(packs, np, info, sizeof(info))
                          : pylon_info_analog(&p->packs[k].pack, target, info, sizeof(info));
            else
                n = group ? pylon_info_alarm_group(packs, np, info, sizeof(info))
                          : pylon_info_alarm(&p->packs[k].pack, target, info, sizeof(info));
        } else if (rq->cid2 == PYLON_CMD_MANAGEMENT) {
            /* the first address serves the system (the bank), others their pack */
            const struct served *s =
                k == 0 || p->npacks <= 1 ? &p->system : &p->packs[k];
            int s_stale = s == &p->system ? stale : !(s->has_limits && is_fresh(s, now));
            l = s_stale ? blocked(s) : s->limits;
            if (p->observe)
                observe_limits(p, &l);
            n = pylon_info_management(&l, target, p->dcl_negative, info, sizeof(info));
        } else if (rq->cid2 == PYLON_CMD_SERIAL) {
            n = pylon_info_serial(&p->packs[k].pack, target, info, sizeof(info));
        } else {
            n = pylon_info_software(&p->id, target, info, sizeof(info));
        }
        break;
    case PYLON_CMD_SYS_ANALOG:
    case PYLON_CMD_SYS_ALARM: {
        struct pylon_pack packs[MAX_PACKS], bank = p->system.pack;
        size_t np = 0;
        if (stale) {
            reply(p, rq, PYLON_RTN_INTERNAL, NULL, 0);
            return;
        }
        for (size_t i = 0; i < p->npacks; i++)
            if (is_fresh(&p->packs[i], now)) {
                packs[np] = p->packs[i].pack;
                bank.alarm_bits |= packs[np++].alarm_bits;
            }
        n = rq->cid2 == PYLON_CMD_SYS_ANALOG
                ? pylon_info_sys_analog(&bank, packs, np, info, sizeof(info))
                : pylon_info_sys_alarm(&bank, info, sizeof(info));
        break;
    }
    case PYLON_CMD_SYS_MANAGE:
        l = stale ? blocked(&p->system) : p->system.limits;
        if (p->observe)
            observe_limits(p, &l);
        n = pylon_info_sys_management(&l, info, sizeof(info));
        break;
    default:
        reply(p, rq, PYLON_RTN_CID2, NULL, 0);
        return;
    }
    /* only 0x4F answers with no INFO: an empty "RTN 00" is never sent for
     * data that did not fit */
    reply(p, rq, n > 0 || rq->cid2 == PYLON_CMD_VERSION ? PYLON_RTN_OK : PYLON_RTN_INTERNAL,
          info, n);
}

/* One complete frame between '~' and CR. */
static void frame_in(struct pylontech *p, const char *text, size_t len)
{
    struct pylon_frame rq;
    int rc = pylon_frame_decode(text, len, &rq);
    int ours, stale;

    pthread_mutex_lock(&p->lock);
    /* our addresses; the protocol's broadcast-style 0 for 0x4F/0x51 */
    ours = pack_index(p, rq.adr) >= 0 ||
           (rq.adr == 0 && (rq.cid2 == PYLON_CMD_VERSION || rq.cid2 == PYLON_CMD_MAKER));
    stale = judge(p, now_ns(p));
    if (!ours || (stale && (p->on_stale == STALE_SILENT || p->observe))) {
        pthread_mutex_unlock(&p->lock);
        return; /* another device's, or silent: not a byte */
    }
    if (rc == -EBADMSG)
        reply(p, &rq, PYLON_RTN_CHKSUM, NULL, 0);
    else if (rc == -EPROTO)
        reply(p, &rq, PYLON_RTN_LCHKSUM, NULL, 0);
    else if (rc < 0)
        reply(p, &rq, PYLON_RTN_FORMAT, NULL, 0);
    else if (rq.ver != 0x20 && rq.ver != 0x28)
        reply(p, &rq, PYLON_RTN_VER, NULL, 0);
    else if (rq.cid1 != PYLON_CID1_BATTERY)
        reply(p, &rq, PYLON_RTN_CID2, NULL, 0);
    else
        answer(p, &rq, stale);
    pthread_mutex_unlock(&p->lock);
    if (p->tx_len > 0)
        transmit(p, p->tx, p->tx_len);
    p->tx_len = 0;
}

static void rs485_bytes(struct pylontech *p, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = buf[i];
        if (c == (char)PYLON_SOI) { /* a new frame starts, whatever came before */
            p->in_frame = 1;
            p->rx_len = 0;
            continue;
        }
        if (!p->in_frame)
            continue; /* line noise between frames */
        if (c == (char)PYLON_EOI) {
            frame_in(p, p->rx, p->rx_len);
            p->in_frame = 0;
            p->rx_len = 0;
            continue;
        }
        if (p->rx_len == sizeof(p->rx)) { /* longer than any frame: drop it */
            p->in_frame = 0;
            p->rx_len = 0;
            continue;
        }
        p->rx[p->rx_len++] = c;
    }
}

/* ---- CAN ---- */

static void can_send(struct pylontech *p)
{
    struct pylon_can_frame f[PYLON_CAN_FRAMES];
    struct pylon_pack bank;
    struct pylon_limits l;
    int stale, hottest = 0;
    size_t n, npacks;
    int64_t now = now_ns(p);

    pthread_mutex_lock(&p->lock);
    stale = judge(p, now);
    npacks = p->npacks; /* write() sets it */
    bank = p->system.pack;
    l = stale ? blocked(&p->system) : p->system.limits;
    /* 0x356's one temperature: the hottest probe of the fresh packs */
    for (size_t i = 0; i < p->npacks; i++) {
        const struct served *s = &p->packs[i];
        if (!is_fresh(s, now))
            continue;
        bank.alarm_bits |= s->pack.alarm_bits;
        if (s->pack.has_hottest && (!hottest || s->pack.hottest_dc > bank.temp_dc[0])) {
            bank.temp_dc[0] = s->pack.hottest_dc;
            bank.ntemps = 1;
            hottest = 1;
        }
    }
    pthread_mutex_unlock(&p->lock);
    if (stale && p->on_stale == STALE_SILENT)
        return;
    if (stale)
        bank.alarm_bits = PYLON_ALARM_SYSTEM;
    n = pylon_can_frames(&bank, &l, (unsigned)(npacks ? npacks : 1), p->manufacturer, f);
    if (p->observe) {
        observe_limits(p, &l);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t wire[PYLON_CAN_WIRE];
        /* blocking: no SOC, voltage or current that would pass for live */
        if (stale && (f[i].id == 0x355 || f[i].id == 0x356))
            continue;
        pylon_can_pack(&f[i], wire);
        if (transmit(p, wire, sizeof(wire)) < 0)
            break; /* the rest of this period goes too: the next one sends again */
    }
}

/* Read what the inverter sent: 0, or -1 when the other end is gone (the
 * unix stand-in closed: poll() says POLLHUP from now on). */
static int can_read(struct pylontech *p)
{
    uint8_t wire[64];
    struct pylon_can_frame f;
    ssize_t n;

    while ((n = read(p->fd, wire, sizeof(wire))) > 0) {
        if (pylon_can_unpack(wire, (size_t)n, &f) != 0 || f.id != PYLON_CAN_KEEPALIVE)
            continue;
        if (p->keepalive_lost || p->keepalive_ns == 0)
            p->api->log(p->host, COLLECTOR_LOG_INFO, "the inverter's keepalive (0x305) %s",
                        p->keepalive_ns == 0 ? "arrives" : "is back");
        p->keepalive_ns = mono_ns(p);
        p->keepalive_lost = 0;
    }
    return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ? -1 : 0;
}

static void keepalive_check(struct pylontech *p)
{
    if (p->keepalive_ns == 0 || p->keepalive_lost)
        return;
    if (mono_ns(p) - p->keepalive_ns > KEEPALIVE_TIMEOUT_NS) {
        p->api->log(p->host, COLLECTOR_LOG_WARNING,
                    "the inverter's keepalive (0x305) stopped %.0f s ago: is it still "
                    "connected and in PYL mode?",
                    (double)(mono_ns(p) - p->keepalive_ns) / 1e9);
        p->keepalive_lost = 1;
    }
}

static void *serve(void *arg)
{
    struct pylontech *p = arg;
    int64_t next_can = mono_ns(p);

    for (;;) {
        struct pollfd pfd[2] = {{.fd = p->wake[0], .events = POLLIN},
                                {.fd = p->fd, .events = POLLIN}};
        int timeout_ms = -1, rc;

        if (p->link == LINK_CAN) {
            int64_t wait = next_can - mono_ns(p);
            timeout_ms = wait <= 0 ? 0 : (int)((wait + NS_PER_MS - 1) / NS_PER_MS);
        } else {
            /* wake when the served record goes stale, to say so */
            int64_t until;
            pthread_mutex_lock(&p->lock);
            until = p->stale == 0 ? p->system.fresh_until_ns - now_ns(p) : -1;
            pthread_mutex_unlock(&p->lock);
            if (until >= 0)
                timeout_ms = (int)(until / NS_PER_MS + 1);
        }
        rc = poll(pfd, 2, timeout_ms);
        if (pfd[0].revents != 0)
            break; /* stop() */
        if ((rc < 0 && errno != EINTR) || (pfd[1].revents & (POLLERR | POLLNVAL))) {
            /* the inverter sees silence: lost communication, its own settings */
            p->api->log(p->host, COLLECTOR_LOG_ERROR,
                        "the %s link failed (%s): nothing more is sent until a restart",
                        p->link == LINK_CAN ? "CAN" : "RS485",
                        rc < 0 ? strerror(errno) : "poll: error on the device");
            break;
        }
        if (pfd[1].revents & (POLLIN | POLLHUP)) {
            int gone = 0;
            if (p->link == LINK_CAN)
                gone = can_read(p) < 0;
            else {
                char buf[256];
                ssize_t n = read(p->fd, buf, sizeof(buf));
                if (n > 0)
                    rs485_bytes(p, buf, (size_t)n);
                else
                    gone = n == 0 || (errno != EAGAIN && errno != EINTR);
            }
            if (gone) {
                struct pollfd w = {.fd = p->wake[0], .events = POLLIN};
                if (poll(&w, 1, 100) > 0)
                    break; /* nobody on the other end: wait, do not spin */
            }
        }
        if (p->link == LINK_CAN && mono_ns(p) >= next_can) {
            can_send(p);
            keepalive_check(p);
            next_can += p->can_period_ns;
            if (next_can < mono_ns(p))
                next_can = mono_ns(p) + p->can_period_ns;
        } else if (p->link == LINK_RS485) {
            pthread_mutex_lock(&p->lock);
            judge(p, now_ns(p));
            pthread_mutex_unlock(&p->lock);
        }
    }
    return NULL;
}

static int py_start(void *state)
{
    struct pylontech *p = state;
    char err[320];

    p->fd = p->link == LINK_CAN ? links_open_can(p->interface, err, sizeof(err))
                                : links_open_serial(p->device, p->baud, err, sizeof(err));
    if (p->fd < 0) {
        int rc = p->fd;
        p->api->log(p->host, COLLECTOR_LOG_ERROR, "%s", err);
        p->fd = -1;
        return rc;
    }
    if (pipe2(p->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        int rc = -errno;
        close(p->fd);
        p->fd = -1;
        return rc;
    }
    if (pthread_create(&p->thread, NULL, serve, p) != 0) {
        close(p->fd);
        close(p->wake[0]);
        close(p->wake[1]);
        p->fd = p->wake[0] = p->wake[1] = -1;
        return -EAGAIN;
    }
    p->running = 1;
    p->api->log(p->host, COLLECTOR_LOG_INFO, "%s link on %s%s: serving %s", 
                p->link == LINK_CAN ? "CAN" : "RS485",
                p->link == LINK_CAN ? p->interface : p->device,
                p->observe ? " in observe mode (nothing is transmitted)" : "",
                p->source[0] ? p->source : "the bank, once its first record arrives");
    return 0;
}

static void py_stop(void *state)
{
    struct pylontech *p = state;
    static const char byte = 1;

    if (!p->running)
        return;
    if (write(p->wake[1], &byte, 1) < 0) {
        /* the pipe is empty and non-blocking: a write cannot fail here */
    }
    pthread_join(p->thread, NULL);
    p->running = 0;
    close(p->fd);
    close(p->wake[0]);
    close(p->wake[1]);
    p->fd = p->wake[0] = p->wake[1] = -1;
}

static void py_destroy(void *state)
{
    struct pylontech *p = state;

    if (p == NULL)
        return;
    py_stop(p);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static const struct collector_plugin plugin = {
    COLLECTOR_PLUGIN_HEAD,
    .kind = COLLECTOR_KIND_SINK,
    .name = "pylontech",
    .version = PACKAGE_VERSION,
    .description = "a Pylontech-compatible battery link to the inverter (RS485 or CAN)",
    .create = py_create,
    .write = py_write,
    .destroy = py_destroy,
    .setting_defs = setting_defs,
    .start = py_start,
    .stop = py_stop,
};

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &plugin;
}
