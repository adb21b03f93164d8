#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write rows into inverter.db the way eamoon's modbus_service.py does.

Creates the table as data_store.py does, then inserts rows whose payload is a
JSON object of strings with eamoon's fixed decimals (eamoon-compat.md 2.1).

    eamoon_poller.py DB [--rows N] [--every SECONDS] [--error] [--if-empty]
                        [--created-at utc|offset]
"""
import argparse
import datetime
import json
import sqlite3
import sys
import time

SCHEMA = ("CREATE TABLE IF NOT EXISTS readings (id INTEGER PRIMARY KEY AUTOINCREMENT, "
          "created_at TEXT NOT NULL, payload TEXT, error TEXT)")


def inverter_payload(n):
    """A plausible inverter reading; n varies it a little from row to row."""
    return {
        "grid_voltage": "%.1f" % (230.1 + n % 3), "grid_power": "%.0f" % (412 + n),
        "grid_current": "%.2f" % 1.79, "ac_output_voltage": "230.0",
        "ac_output_freq": "50.00", "ac_output_power": "%.0f" % 388, "ac_output_current": "1.7",
        "battery_voltage": "52.6", "battery_current": "-3.0", "battery_power": "-158",
        "battery_soc": "87", "battery_charge_power": "24", "pv_input_voltage": "0.0",
        "pv_input_power": "0", "pv_input_current": "0.0", "temperature": "31",
        "status_text": "SUB", "poller_row": n,
    }


def created_at(style):
    now = datetime.datetime.now(datetime.timezone.utc)
    if style == "offset":
        return now.astimezone(datetime.timezone(datetime.timedelta(hours=2))).isoformat(
            timespec="seconds")
    return now.replace(tzinfo=None).isoformat(timespec="seconds")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--rows", type=int, default=1)
    ap.add_argument("--every", type=float, default=0.0)
    ap.add_argument("--error", action="store_true", help="write failed reads (payload NULL)")
    ap.add_argument("--if-empty", action="store_true", help="only when readings has no row")
    ap.add_argument("--created-at", choices=("utc", "offset"), default="utc")
    args = ap.parse_args()
    con = sqlite3.connect(args.db, timeout=30)
    con.execute(SCHEMA)
    con.commit()
    if args.if_empty and con.execute("SELECT count(*) FROM readings").fetchone()[0] > 0:
        return 0
    for n in range(args.rows):
        if args.error:
            row = (created_at(args.created_at), None, "Modbus read failed: timed out")
        else:
            row = (created_at(args.created_at), json.dumps(inverter_payload(n)), None)
        con.execute("INSERT INTO readings (created_at, payload, error) VALUES (?, ?, ?)", row)
        con.commit()
        if args.every > 0 and n + 1 < args.rows:
            time.sleep(args.every)
    con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
