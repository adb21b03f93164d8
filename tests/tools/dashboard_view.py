#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Read inverter.db exactly as eamoon's data layer does (the newest row by id,
json.loads of its payload) and print what the dashboard and the bot show.

    dashboard_view.py DB [--json]
"""
import json
import sqlite3
import sys


def latest(db):
    con = sqlite3.connect(db)
    row = con.execute(
        "SELECT payload, error, created_at FROM readings ORDER BY id DESC LIMIT 1").fetchone()
    con.close()
    if row is None:
        return None, None, None
    payload, error, created = row
    return (json.loads(payload) if payload is not None else None), error, created


def main():
    db = sys.argv[1]
    data, error, created = latest(db)
    if "--json" in sys.argv[2:]:
        print(json.dumps({"payload": data, "error": error, "created_at": created}))
        return 0
    if data is None:
        print("Connection error: %s" % error if error else "no reading yet")
        return 1
    print("Updated %s" % created)
    for prefix, title in (("", "BATTERY"), ("battery2_", "BATTERY 2"), ("battery3_", "BATTERY 3")):
        count = data.get(prefix + "bms_cell_count")
        if prefix and count is None:
            continue
        print("%s  %s %s" % (title, data.get(prefix + "bms_name", "Not configured"),
                             data.get(prefix + "bms_address", "")))
        print("  SOC %s %%  %s V  %s A  %s W  %s C" % tuple(
            data.get(prefix + k, "N/A") for k in
            ("battery_soc", "battery_voltage", "battery_current", "battery_power", "temperature")))
        if isinstance(count, int) and count > 0:
            delta_mv = int(float(data[prefix + "bms_cell_delta_v"]) * 1000)
            print("  %d cells  min %.3f V  max %.3f V  delta %d mV" % (
                count, float(data[prefix + "bms_cell_min_v"]),
                float(data[prefix + "bms_cell_max_v"]), delta_mv))
    print("GRID  %s V  %s W   LOAD %s W   MODE %s" % tuple(
        data.get(k, "N/A") for k in ("grid_voltage", "grid_power", "ac_output_power",
                                      "status_text")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
