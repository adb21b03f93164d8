#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Implausible values never reach inverter.db. For each out-of-range field, a
real JK02_32S cell-info frame (tests/data/jk) is patched at the offsets of
jk-ble-protocol.md 7.1, its checksum recomputed, and replayed by jk_replay
into sqlite_merge over a real eamoon inverter.db: the field is absent (the
inverter's own figure stays), every other key is there, and the log says it
once. Prints TAP."""
import json
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile

TOP_SRC = os.environ["top_srcdir"]
TOP_BUILD = os.environ["top_builddir"]
DAEMON = os.path.join(TOP_BUILD, "core", "collectord")
UTIL = os.path.join(TOP_BUILD, "tools", "jkbms-util", "jkbms-util")
DATA = os.path.join(TOP_SRC, "tests", "data", "jk")
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "tools"))
import eamoon_poller  # noqa: E402

# Every metric sqlite_merge can write for this battery, so absence is visible.
EXTRA = ("+temperatures", "+mos_temperature", "+bms_soc", "+soh", "+cycle_count",
         "+capacity_remaining_ah", "+capacity_nominal_ah", "+cycle_capacity_ah",
         "+balance_current")

results = []


def check(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def load_hex(name):
    text = "".join(line.split("#")[0] for line in open(os.path.join(DATA, name)))
    return bytearray(bytes.fromhex("".join(text.split())))


def seal(frame):
    frame[299] = sum(frame[:299]) & 0xFF
    return frame


def patch(frame, offset, fmt, value):
    struct.pack_into(fmt, frame, offset, value)


# JK02_32S offsets (jk-ble-protocol.md 7.1): current i32 @158, T3 i16 @258,
# cycles u32 @182, SOH u8 @190, remaining u32 @174, nominal u32 @178, cycle
# capacity u32 @186, balance current i16 @170, cells u16 @6.., mask @70, pack @150.
def cells_at(frame, mv, n):
    for i in range(n):
        patch(frame, 6 + 2 * i, "<H", mv)
    patch(frame, 70, "<I", (1 << n) - 1 if n < 32 else 0xFFFFFFFF)
    patch(frame, 150, "<I", mv * n)


CASES = [
    # name, patch, keys gone from the row, log fragment, jkbms-util field, raw
    ("JK02_32S current of -2 147 483 A", lambda f: patch(f, 158, "<i", -2147483648),
     ["battery_current", "battery_power"],
     "battery_current = -2147483.648 A is outside -1000..1000 A: left out",
     "battery_current", -2147483.648),
    ("a probe at 3276.7 degC", lambda f: patch(f, 256, "<h", 32767),  # T4 (0xFA, V1.1 map)
     [], "temperatures[4] = 3276.7 degC is outside -40..120 degC: left out",
     "temperatures", 3276.7),
    ("4294967295 cycles", lambda f: patch(f, 182, "<I", 0xFFFFFFFF),
     ["cycle_count"], "cycle_count = 4294967295 is outside 0..100000: left out",
     "cycle_count", 4294967295),
    ("SOH 255 %", lambda f: patch(f, 190, "<B", 255),
     ["soh"], "soh = 255 % is outside 0..100 %: left out", "soh", 255),
    ("2147483 Ah remaining", lambda f: patch(f, 174, "<i", 0x7FFFFFFF),  # 0xA8 is signed
     ["capacity_remaining_ah"],
     "capacity_remaining_ah = 2147483.647 Ah is outside 0..10000 Ah: left out",
     "capacity_remaining_ah", 2147483.647),
    ("4294967 Ah nominal", lambda f: patch(f, 178, "<I", 0xFFFFFFFF),
     ["capacity_nominal_ah"],
     "capacity_nominal_ah = 4294967.295 Ah is outside 0..10000 Ah: left out",
     "capacity_nominal_ah", 4294967.295),
    ("4294967 Ah cycle capacity", lambda f: patch(f, 186, "<I", 0xFFFFFFFF),
     ["cycle_capacity_ah"],
     "cycle_capacity_ah = 4294967.295 Ah is outside 0..4000000 Ah: left out",
     "cycle_capacity_ah", 4294967.295),
    ("a balance current of 32.767 A", lambda f: patch(f, 170, "<h", 32767),
     ["balance_current"], "balance_current = 32.767 A is outside -10..10 A: left out",
     "balance_current", 32.767),
]


def write_capture(path, frames):
    with open(path, "w") as f:
        f.write("# crafted from tests/data/jk/jk02_32s_v11_*.hex\n")
        for fr in frames:
            for start in (0, 128, 256):  # 128 + 128 + 44, as the old BLE module sends
                f.write(" ".join("%02x" % b for b in fr[start:start + 128]) + "\n")


def fresh_db(path):
    con = sqlite3.connect(path)
    con.execute(eamoon_poller.SCHEMA)
    con.execute("INSERT INTO readings (created_at, payload, error) VALUES (?, ?, NULL)",
                (eamoon_poller.created_at("utc"), json.dumps(eamoon_poller.inverter_payload(0))))
    con.commit()
    con.close()


def newest(db):
    con = sqlite3.connect(db)
    rows = con.execute("SELECT payload FROM readings ORDER BY id").fetchall()
    ok = con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    return json.loads(rows[-1][0]), len(rows), ok


def replay(tmp, name, frame):
    cap = os.path.join(tmp, name + ".hex")
    db = os.path.join(tmp, name + ".db")
    conf = os.path.join(tmp, name + ".conf")
    write_capture(cap, [DEVICE, frame])
    fresh_db(db)
    with open(conf, "w") as f:
        f.write('collector = { state_dir = "%s"; };\n'
                'sources = ( { plugin = "jk_replay"; name = "battery1"; file = "%s"; } );\n'
                'sinks = ( { plugin = "sqlite_merge"; path = "%s"; fields = (%s); } );\n'
                % (tmp, cap, db, ", ".join('"%s"' % k for k in EXTRA)))
    r = subprocess.run([DAEMON, "-c", conf, "--once"], capture_output=True, text=True,
                       timeout=60)
    row, nrows, ok = newest(db)
    u = subprocess.run([UTIL, "--decode", cap, "--json"], capture_output=True, text=True)
    return r, row, nrows and ok, u


DEVICE = load_hex("jk02_32s_v11_device_info.hex")
BASE = load_hex("jk02_32s_v11_cell_info.hex")
INVERTER = eamoon_poller.inverter_payload(0)

with tempfile.TemporaryDirectory() as tmp:
    r, good, ok, _ = replay(tmp, "real", BASE)
    check("the real frame: every key written (baseline)",
          ok and good.get("bms_cell_count") == 16 and good.get("cycle_count") == 0
          and good.get("temperatures") == [17.7, 17.7, 17.3, 17.9, 18.0]
          and "implausible" not in r.stderr, r.stderr + json.dumps(good))

    for name, fn, gone, line, field, raw in CASES:
        frame = bytearray(BASE)
        fn(frame)
        r, row, ok, u = replay(tmp, "case%d" % len(results), seal(frame))
        missing = [k for k in good if k not in row]
        changed = [k for k in gone if row.get(k) != INVERTER.get(k)]
        if field == "temperatures":  # T4 and T5 (after it) left out, T1-T3 still there
            changed += [] if row.get("temperatures") == [17.7, 17.7, 17.3] else ["temperatures"]
            missing = [k for k in missing if k != "temperatures"]
        same = [k for k in good if k not in gone and k != "temperatures"
                and row.get(k) != good[k]]
        check("%s: absent from inverter.db, every other key written" % name,
              ok and missing == [k for k in gone if k not in INVERTER] and not changed
              and not same, "missing %s changed %s differ %s" % (missing, changed, same))
        check("%s: one warning naming the field and the raw value" % name,
              r.stderr.count(line) == 1, r.stderr)
        try:
            rej = json.loads(u.stdout.splitlines()[0]).get("rejected", [])
        except (ValueError, IndexError):
            rej = []
        check("%s: jkbms-util --decode --json lists it with its range" % name,
              u.returncode == 0 and len(rej) == 1 and rej[0]["field"] == field
              and abs(rej[0]["raw"] - raw) < 1e-6 and rej[0]["min"] < rej[0]["max"],
              u.stdout + u.stderr)

    frame = bytearray(BASE)
    cells_at(frame, 5500, 32)
    r, row, ok, u = replay(tmp, "cells55", seal(frame))
    check("32 cells at 5.5 V (a 176 V pack): the frame is dropped, no BMS key written",
          ok and row == INVERTER, json.dumps(row))
    check("32 cells at 5.5 V: one line says the frame is dropped",
          r.stderr.count("cells[1] = 5.5 V is outside 0.5..5 V: frame dropped") == 1
          and "0 implausible value(s) left out, 1 frame(s) dropped" in r.stderr, r.stderr)
    try:
        obj = json.loads(u.stdout.splitlines()[0])
    except (ValueError, IndexError):
        obj = {}
    check("32 cells at 5.5 V: jkbms-util --decode --json says dropped, shows no value",
          u.returncode == 1 and obj.get("dropped") is True and "cells" not in obj
          and obj.get("rejected", [{}])[0].get("field") == "cells", u.stdout + u.stderr)

    # the same battery sending the same bad field over and over says it once
    frame = bytearray(BASE)
    patch(frame, 190, "<B", 255)
    seal(frame)
    cap = os.path.join(tmp, "loop.hex")
    write_capture(cap, [DEVICE] + [frame] * 5)
    conf = os.path.join(tmp, "loop.conf")
    db = os.path.join(tmp, "loop.db")
    fresh_db(db)
    with open(conf, "w") as f:
        f.write('collector = { state_dir = "%s"; };\n'
                'sources = ( { plugin = "jk_replay"; name = "battery1"; file = "%s"; '
                'interval = 0.05; } );\n'
                'sinks = ( { plugin = "sqlite_merge"; path = "%s"; } );\n' % (tmp, cap, db))
    p = subprocess.Popen([DAEMON, "-c", conf, "-f"], stderr=subprocess.PIPE, text=True)
    try:
        err = ""
        for ln in p.stderr:
            err += ln
            if "end of the capture" in ln:
                break
    finally:
        p.terminate()
        err += p.communicate(timeout=30)[1]
    check("five frames with SOH 255 %: said once, counted five times",
          err.count("soh = 255 % is outside") == 1
          and "5 implausible value(s) left out, 0 frame(s) dropped" in err, err)

print("1..%d" % len(results))
for i, (name, ok, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if not ok:
        for ln in str(detail).splitlines()[:15]:
            print("# " + ln)
