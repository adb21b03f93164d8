#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""collectord + sqlite_merge end to end, read the way eamoon's dashboard reads
inverter.db (newest row by id, json.loads). Prints TAP."""
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

TOP_SRC = os.environ["top_srcdir"]
TOP_BUILD = os.environ["top_builddir"]
DAEMON = os.path.join(TOP_BUILD, "core", "collectord")
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "tools"))
import eamoon_poller  # noqa: E402
from tap import Tap  # noqa: E402
from waiting import wait_for  # noqa: E402

tap = Tap()
check = tap.check


def latest(db):
    """eamoon data_store.get_latest_reading"""
    con = sqlite3.connect(db)
    row = con.execute("SELECT payload, error, created_at FROM readings "
                      "ORDER BY id DESC LIMIT 1").fetchone()
    con.close()
    return json.loads(row[0]) if row and row[0] else None


def write_conf(path, db, sources, extra=""):
    src = ",\n".join(
        '{ plugin = "jk_replay"; name = "%s"; file = "%s"; loop = true; interval = %s; }'
        % (name, os.path.join(TOP_SRC, "etc", "demo", capture), interval)
        for name, capture, interval in sources)
    with open(path, "w") as f:
        f.write('collector = { state_dir = "%s"; };\nsources = (\n%s\n);\n'
                'calculators = ( { plugin = "soc_lifepo4"; } );\n'
                'sinks = ( { plugin = "sqlite_merge"; path = "%s"; %s } );\n'
                % (os.path.dirname(path), src, db, extra))


def insert_inverter_row(db, n=0):
    con = sqlite3.connect(db, timeout=30)
    con.execute(eamoon_poller.SCHEMA)
    con.execute("INSERT INTO readings (created_at, payload, error) VALUES (?, ?, NULL)",
                (eamoon_poller.created_at("utc"), json.dumps(eamoon_poller.inverter_payload(n))))
    con.commit()
    con.close()


def count_rows(db, where=""):
    try:
        con = sqlite3.connect(db, timeout=30)
        n = con.execute("SELECT count(*) FROM readings " + where).fetchone()[0]
        con.close()
        return n
    except sqlite3.Error:
        return 0


def run_once(conf):
    return subprocess.run([DAEMON, "-c", conf, "--once"], capture_output=True, text=True)


FIXED = {"battery_voltage": 1, "battery_current": 1, "battery_soc": 0, "battery_power": 0,
         "temperature": 0, "bms_cell_min_v": 3, "bms_cell_max_v": 3, "bms_cell_delta_v": 3}


def contract_ok(data, prefix):
    for key, decimals in FIXED.items():
        v = data.get(prefix + key)
        pat = r"^-?\d+$" if decimals == 0 else r"^-?\d+\.\d{%d}$" % decimals
        if not isinstance(v, str) or not re.match(pat, v):
            return "%s%s = %r" % (prefix, key, v)
    if type(data.get(prefix + "bms_cell_count")) is not int:
        return "bms_cell_count not an integer"
    return ""


def one_and_two_batteries(tmp):
    db = os.path.join(tmp, "one.db")
    conf = os.path.join(tmp, "one.conf")
    insert_inverter_row(db)
    write_conf(conf, db, [("battery1", "jk_pb2a16s15p.hex", 1)])
    r = run_once(conf)
    check("collectord --once on a replay exits 0", r.returncode == 0, r.stderr)
    data = latest(db)
    check("dashboard finds battery 1 in the contract's formats",
          data is not None and contract_ok(data, "") == "", data and contract_ok(data, ""))
    check("battery 1 values are the BMS's (51.7 V, 16 cells, 30 mV delta)",
          data and data["battery_voltage"] == "51.7" and data["bms_cell_count"] == 16
          and int(float(data["bms_cell_delta_v"]) * 1000) == 30, data)
    check("inverter keys are kept", data and data.get("grid_voltage") == "230.1"
          and data.get("status_text") == "SUB", data)

    db = os.path.join(tmp, "two.db")
    conf = os.path.join(tmp, "two.conf")
    insert_inverter_row(db)
    write_conf(conf, db, [("battery1", "jk_pb2a16s15p.hex", 1),
                          ("battery2", "jk_b2a24s20p.hex", 1)],
               'batteries = ("battery1", "battery2");')
    r = run_once(conf)
    data = latest(db)
    check("two batteries: battery2_ keys in the contract's formats",
          r.returncode == 0 and data and contract_ok(data, "battery2_") == ""
          and data["battery2_battery_voltage"] == "78.7"
          and data["battery2_bms_cell_count"] == 24, data)
    con = sqlite3.connect(db)
    rows = con.execute("SELECT count(*) FROM readings").fetchone()[0]
    con.close()
    check("overlay adds no row", rows == 1, rows)


def concurrent_writer(tmp):
    db = os.path.join(tmp, "busy.db")
    conf = os.path.join(tmp, "busy.conf")
    insert_inverter_row(db)
    write_conf(conf, db, [("battery1", "jk_pb2a16s15p.hex", 0.2)], "max_age = 1.0;")
    stamps = {}  # row id -> time inserted
    stop = threading.Event()

    def poller():
        con = sqlite3.connect(db, timeout=30)
        n = 1
        while not stop.is_set():
            cur = con.execute("INSERT INTO readings (created_at, payload, error) "
                              "VALUES (?, ?, NULL)",
                              (eamoon_poller.created_at("utc"),
                               json.dumps(eamoon_poller.inverter_payload(n))))
            con.commit()
            stamps[cur.lastrowid] = time.monotonic()
            n += 1
            time.sleep(0.005)
        con.close()

    th = threading.Thread(target=poller)
    th.start()
    errf = open(os.path.join(tmp, "busy.log"), "w+")  # a pipe nobody reads could fill
    d = subprocess.Popen([DAEMON, "-c", conf], stderr=errf)
    # run until rows carry the patch, then a while longer for fresh rows to check
    wait_for(lambda: count_rows(db, "WHERE payload LIKE '%bms_cell_count%'") > 0, 60)
    time.sleep(1.5)
    d.send_signal(signal.SIGTERM)
    d.wait(timeout=60)
    errf.seek(0)
    err = errf.read()
    errf.close()
    stopped = time.monotonic()
    time.sleep(2.0)  # past max_age: the patch is stale now
    stop.set()
    th.join()
    check("daemon stops cleanly on SIGTERM", d.returncode == 0, err[-500:])

    con = sqlite3.connect(db)
    rows = con.execute("SELECT id, payload FROM readings ORDER BY id").fetchall()
    integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    con.close()
    payloads = {i: json.loads(p) for i, p in rows}
    first_bms = min((i for i, p in payloads.items() if "bms_cell_count" in p), default=None)
    fresh_missing = [i for i, t in stamps.items()
                     if first_bms is not None and i > first_bms and t < stopped - 0.5
                     and "bms_cell_count" not in payloads[i]]
    stale_patched = [i for i, t in stamps.items() if t > stopped + 1.5
                     and "bms_cell_count" in payloads[i]]
    lost_keys = [i for i, p in payloads.items() if p.get("grid_voltage") is None]
    check("rows written while the patch was fresh carry the BMS values",
          first_bms is not None and not fresh_missing and len(stamps) > 100,
          "first %s, missing %s of %d" % (first_bms, fresh_missing[:5], len(stamps)))
    check("rows written after max_age do not", not stale_patched, stale_patched[:5])
    check("no inverter key lost, no row lost",
          not lost_keys and len(rows) == len(stamps) + 1, (lost_keys[:5], len(rows), len(stamps)))
    check("PRAGMA integrity_check is ok", integrity == "ok", integrity)


def kill_9(tmp):
    db = os.path.join(tmp, "kill.db")
    conf = os.path.join(tmp, "kill.conf")
    insert_inverter_row(db)
    write_conf(conf, db, [("b%d" % i, "jk_pb2a16s15p.hex", 0.01) for i in range(1, 4)],
               'mode = "append"; history = true;')
    # killed after 1, 10 and 30 rows more: once early, twice well into writing
    for more in (1, 10, 30):
        before = count_rows(db)
        d = subprocess.Popen([DAEMON, "-c", conf], stderr=subprocess.DEVNULL)
        wait_for(lambda: count_rows(db) >= before + more, 60)
        d.kill()
        d.wait()
    con = sqlite3.connect(db)
    integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    bad = [i for i, p in con.execute("SELECT id, payload FROM readings")
           if not isinstance(json.loads(p), dict) or "grid_voltage" not in json.loads(p)]
    n = con.execute("SELECT count(*) FROM readings").fetchone()[0]
    con.close()
    check("kill -9 mid-write leaves an intact database with whole rows",
          integrity == "ok" and not bad and n > 3, (integrity, bad[:3], n))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tap.run(lambda: one_and_two_batteries(tmp), lambda: concurrent_writer(tmp),
                lambda: kill_9(tmp))


if __name__ == "__main__":
    main()
