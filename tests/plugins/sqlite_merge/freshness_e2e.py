#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Freshness in a running daemon: a simulated JK BMS (jk_sim.py over the unix
transport) answers, is away for a while, answers once more and goes silent.
Inverter rows written more than 3 x the source's interval after its last
answer carry no BMS keys (the seed kept them for 3 x the last gap). TAP."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

TOP_SRC = os.environ["top_srcdir"]
TOP_BUILD = os.environ["top_builddir"]
DATA = os.path.join(TOP_SRC, "tests", "data", "jk")
SIM = os.path.join(TOP_SRC, "tests", "plugins", "jk_ble", "jk_sim.py")
DAEMON = os.path.join(TOP_BUILD, "core", "collectord")
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "tools"))
import eamoon_poller  # noqa: E402
from tap import Tap  # noqa: E402
from waiting import wait_for  # noqa: E402

INTERVAL = 0.5
# /tmp, not $TMPDIR (the build tree): a unix socket path must fit in 108 bytes
tmp = tempfile.mkdtemp(prefix="freshness-", dir="/tmp")
tap = Tap()
check = tap.check


def answer_once(sock):
    """A BMS that serves one connection, then is gone."""
    p = subprocess.Popen([sys.executable, SIM, "--socket", sock, "--connections", "1",
                          "--device-info", os.path.join(DATA, "jk02_32s_v11_device_info.hex"),
                          "--cell-info", os.path.join(DATA, "jk02_32s_v11_cell_info.hex")],
                         stdout=subprocess.PIPE, text=True)
    p.stdout.readline()  # listening
    return p


def patch_time(db):
    con = sqlite3.connect(db, timeout=10)
    try:
        row = con.execute("SELECT updated_at FROM collectord_patch WHERE battery = 1").fetchone()
    except sqlite3.OperationalError:
        row = None
    con.close()
    return row[0] if row else None


def inverter_row(db):
    """One row the way eamoon writes it: the wall-clock span in which its
    trigger ran (a commit can take long on a busy disk), and its payload as
    the trigger left it."""
    before = time.time()
    con = sqlite3.connect(db, timeout=10)
    con.execute("INSERT INTO readings (created_at, payload, error) VALUES (?, ?, NULL)",
                (eamoon_poller.created_at("utc"), json.dumps(eamoon_poller.inverter_payload(0))))
    con.commit()
    after = time.time()
    payload = json.loads(con.execute("SELECT payload FROM readings ORDER BY id DESC LIMIT 1")
                         .fetchone()[0])
    con.close()
    return before, after, payload


def main():
    db = os.path.join(tmp, "inverter.db")
    sock = os.path.join(tmp, "bms.sock")
    subprocess.run([sys.executable, os.path.join(TOP_SRC, "tests", "tools", "eamoon_poller.py"),
                    db], check=True)
    conf = os.path.join(tmp, "c.conf")
    with open(conf, "w") as f:
        f.write('collector = { state_dir = "%s"; };\n'
                'sources = ( { plugin = "jk_ble"; name = "battery1"; address = "C8:47:8C:00:00:01";'
                ' transport = "unix:%s"; interval = %s; timeout = 1; } );\n'
                'sinks = ( { plugin = "sqlite_merge"; path = "%s"; } );\n' % (tmp, sock, INTERVAL, db))
    log = open(os.path.join(tmp, "daemon.log"), "w")
    sim = answer_once(sock)
    d = subprocess.Popen([DAEMON, "-c", conf], stderr=log)
    try:
        first = wait_for(lambda: patch_time(db) is not None, 20)
        t1 = patch_time(db)
        sim.wait(timeout=20)
        time.sleep(6)  # away: every poll fails
        sim = answer_once(sock)  # answers once more, then silent for good
        wait_for(lambda: (patch_time(db) or 0) > (t1 or 0), 30)
        t2 = patch_time(db)
        rows = []
        while time.time() < (t2 or 0) + 6 * INTERVAL + 3:
            rows.append(inverter_row(db))
            time.sleep(0.1)
        sim.wait(timeout=20)
        check("the BMS answered, went away for 6 s and answered once more",
              first and t1 and t2 and t2 - t1 > 5, (t1, t2))
        # A row counts only when its whole span lies on one side of the limit
        # (50 ms for the clocks' rounding); one that straddles it proves nothing.
        limit = (t2 or 0) + 3 * INTERVAL
        fresh = [p for (b, a, p) in rows if a < limit - 0.05]
        stale = [p for (b, a, p) in rows if b > limit + 0.05]
        check("rows within 3 x the interval of the last answer carry the BMS values",
              fresh and all(p.get("bms_cell_count") == 16 and p.get("battery_voltage") == "51.7"
                            for p in fresh), fresh[:2])
        check("rows later than 3 x the interval carry no BMS key (not 3 x the 6 s gap)",
              stale and all("bms_cell_count" not in p and p.get("battery_voltage") == "52.6"
                            for p in stale), stale[:2])
    finally:
        d.terminate()
        d.wait(timeout=30)
        if sim.poll() is None:
            sim.kill()
        log.close()
    con = sqlite3.connect(db)
    check("the database is intact", con.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
    con.close()


def daemon_log_tail():
    try:
        with open(os.path.join(tmp, "daemon.log")) as f:
            return "".join(f.readlines()[-8:])
    except FileNotFoundError:
        return "(no daemon log)"


tap.run(main, cleanup=[lambda: shutil.rmtree(tmp, ignore_errors=True)], epilogue=daemon_log_tail)
