/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/describe.h"

#include <stdio.h>
#include <string.h>

#include "core/hostdefs.h"
#include "core/setdefs.h"

static void describe_range(char *out, size_t size, const struct collector_setting_def *d)
{
    char lo[32], hi[32];

    out[0] = '\0';
    setdefs_format_number(lo, sizeof(lo), d->min, d->type == COLLECTOR_SETTING_STRING ? 1 : d->type);
    setdefs_format_number(hi, sizeof(hi), d->max, d->type == COLLECTOR_SETTING_STRING ? 1 : d->type);
    if (d->type == COLLECTOR_SETTING_STRING) {
        if ((d->flags & COLLECTOR_SETTING_MIN) && (d->flags & COLLECTOR_SETTING_MAX))
            snprintf(out, size, "%s to %s characters", lo, hi);
        else if (d->flags & COLLECTOR_SETTING_MIN)
            snprintf(out, size, "at least %s character%s", lo, d->min == 1 ? "" : "s");
        else if (d->flags & COLLECTOR_SETTING_MAX)
            snprintf(out, size, "at most %s characters", hi);
        if (d->allowed != NULL) {
            char list[512];
            setdefs_join(list, sizeof(list), d->allowed, NULL);
            snprintf(out, size, "one of: %s", list);
        }
        return;
    }
    if ((d->flags & COLLECTOR_SETTING_MIN) && (d->flags & COLLECTOR_SETTING_MAX))
        snprintf(out, size, "%s to %s", lo, hi);
    else if (d->flags & COLLECTOR_SETTING_MIN)
        snprintf(out, size, "at least %s", lo);
    else if (d->flags & COLLECTOR_SETTING_MAX)
        snprintf(out, size, "at most %s", hi);
}

/* groff needs a backslash doubled and a leading dot or quote escaped. */
static void man_text(FILE *out, const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", out);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else
            fputc(*s, out);
    }
}

/* One line (or one .TP paragraph) per setting of `d`. */
static void describe_table(FILE *out, const struct collector_setting_def *d, int man)
{
    for (; d->name != NULL; d++) {
        char range[600], dflt[300] = "";
        const char *flags[5];
        size_t nf = 0;

        describe_range(range, sizeof(range), d);
        if (d->flags & COLLECTOR_SETTING_REQUIRED)
            flags[nf++] = "required";
        if (d->flags & COLLECTOR_SETTING_SECRET)
            flags[nf++] = "secret";
        if (d->flags & COLLECTOR_SETTING_PATH)
            flags[nf++] = (d->flags & COLLECTOR_SETTING_DEVICE) ? "device" : "path";
        if (d->default_value != NULL && !(d->flags & COLLECTOR_SETTING_SECRET))
            snprintf(dflt, sizeof(dflt), "%s%s%s", d->type == COLLECTOR_SETTING_STRING ? "\"" : "",
                     d->default_value, d->type == COLLECTOR_SETTING_STRING ? "\"" : "");
        if (strcmp(dflt, "\"\"") == 0)
            snprintf(dflt, sizeof(dflt), "empty");
        if (man) {
            fprintf(out, ".TP\n.BR %s \" (%s", d->name, setdefs_type_name(d->type));
            if (d->unit)
                fprintf(out, ", %s", d->unit);
            for (size_t i = 0; i < nf; i++)
                fprintf(out, ", %s", flags[i]);
            fputs(")\"\n", out);
            man_text(out, d->description ? d->description : "");
            if (d->description && *d->description &&
                d->description[strlen(d->description) - 1] != '.')
                fputc('.', out);
            if (range[0]) {
                fputs(d->allowed ? " Values: " : " Range: ", out);
                man_text(out, d->allowed ? range + strlen("one of: ") : range);
                fputc('.', out);
            }
            if (dflt[0]) {
                fputs(" Default: ", out);
                man_text(out, dflt);
                fputc('.', out);
            }
            fputc('\n', out);
        } else {
            fprintf(out, "  %-18s %-8s", d->name, setdefs_type_name(d->type));
            if (d->unit)
                fprintf(out, " [%s]", d->unit);
            for (size_t i = 0; i < nf; i++)
                fprintf(out, " %s", flags[i]);
            if (dflt[0])
                fprintf(out, " default %s", dflt);
            if (range[0])
                fprintf(out, " (%s)", range);
            fprintf(out, "\n      %s\n", d->description ? d->description : "");
        }
    }
}

/* ABI 1.2: the commands a source offers; an instance allows them with
 * `control = (...)` (docs/control.md). */
static void describe_commands(FILE *out, const struct collector_plugin *desc, int man)
{
    const struct collector_command_def *c;

    if (desc->abi_minor < 2 || desc->commands == NULL || desc->commands[0].name == NULL)
        return;
    if (man)
        fputs(".PP\nCommands, each allowed only when the instance's\n.B control\nlists it:\n",
              out);
    else
        fputs("  commands (allowed one by one with control = (...)):\n", out);
    for (c = desc->commands; c->name != NULL; c++) {
        if (man) {
            fprintf(out, ".TP\n.BR %s \" (on or off)\"\n", c->name);
            man_text(out, c->description ? c->description : "");
            fputc('\n', out);
        } else {
            fprintf(out, "  %-18s on|off\n      %s\n", c->name,
                    c->description ? c->description : "");
        }
    }
}

void describe_plugin(FILE *out, const struct collector_plugin *desc, int man)
{
    const char *kind = desc->kind == COLLECTOR_KIND_SOURCE       ? "source"
                       : desc->kind == COLLECTOR_KIND_CALCULATOR ? "calculator"
                                                                 : "sink";

    if (man) {
        fprintf(out, ".SS %s (%s)\n", desc->name, kind);
        man_text(out, desc->description ? desc->description : "");
        fputc('\n', out);
    } else {
        fprintf(out, "%s %s (%s): %s\n", desc->name, desc->version ? desc->version : "", kind,
                desc->description ? desc->description : "");
    }
    if (desc->setting_defs == NULL) {
        fprintf(out, man ? ".PP\nThis plugin declares no settings table.\n"
                         : "  (no settings table: a plugin built for ABI 1.0)\n");
        describe_commands(out, desc, man);
        return;
    }
    describe_table(out, desc->setting_defs, man);
    describe_commands(out, desc, man);
}

void describe_host(FILE *out, int man)
{
    static const char group[] = "the collector { } group: the daemon's own settings";
    static const char entry[] = "every entry of sources, calculators and sinks, beside its "
                                "plugin's own settings";

    if (man)
        fprintf(out, ".SS collector\n%s.\n", group);
    else
        fprintf(out, "collector %s: %s\n", PACKAGE_VERSION, group);
    describe_table(out, hostdefs_collector, man);
    if (man)
        fprintf(out, ".SS entries\n%s.\n", entry);
    else
        fprintf(out, "entries: %s\n", entry);
    describe_table(out, hostdefs_entry, man);
}
