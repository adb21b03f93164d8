/* SPDX-License-Identifier: GPL-2.0-or-later */
/* envfile: the variables collectord takes from eamoon's .env (collector
 * setting `env_file`), and nothing else. The file belongs to another user:
 * it may not choose the code the daemon runs (LD_*), where its traffic goes
 * (http_proxy ...) or anything else; only the names the daemon documents
 * are imported, into its own environment, for ${VAR} and the plugins that
 * read them (jk_ble: JK_BMS_ADDRESS, JK_DEVICES_FILE). */
#ifndef COLLECTORD_CORE_ENVFILE_H
#define COLLECTORD_CORE_ENVFILE_H

#include <stddef.h>

/* The names imported, NULL-terminated. */
extern const char *const envfile_names[];

/* Read `path` (KEY=VALUE lines as python-dotenv reads them: `export `,
 * '#' comments, '...' or "..." quotes) and setenv() the documented names
 * it holds. A name already in the environment stays, unless an earlier
 * call imported it (a reload reads the file again). Opened without
 * following a link, without blocking on a FIFO, a regular file of at most
 * 64 kB. 0, or -ENOENT (no such file: the caller may go on), or a negative
 * errno with one line in err (the file, and the line when it is a line). */
int envfile_import(const char *path, char *err, size_t err_size);

#endif
