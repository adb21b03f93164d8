#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make soak: collectord for >= 2000 polls against 4 simulated JK BMS with
random faults, the sqlite and mqtt sinks and a concurrent inverter writer. Reports
polls by outcome and injected fault, records yielded/written/lost, peak RSS
(and USS/PSS: the pages that are the daemon's own, its share of shared ones),
open file descriptors at start and end, and PRAGMA integrity_check.
Exit 0 only if nothing yielded was lost, the open fds with no BMS around are
the same at the end as at the start, and the file is intact."""
import argparse
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

TOP_SRC = os.environ.get("top_srcdir", ".")
TOP_BUILD = os.environ.get("top_builddir", ".")
DATA = os.path.join(TOP_SRC, "tests", "data", "jk")
SIM = os.path.join(TOP_SRC, "tests", "plugins", "jk_ble", "jk_sim.py")
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "tools"))
import eamoon_poller  # noqa: E402
from ports import free_port  # noqa: E402

BATTERIES = [("jk02_32s_v11", "old", "128"), ("jk02_24s_v10", "new", "150"),
             ("jk04", "jk04", "20"), ("jk02_32s_v11", "new", "random")]


def proc_kb(pid, name, *keys):
    """The sum of these "key: N kB" fields of /proc/PID/<name>: status for VmHWM,
    smaps_rollup for Pss or Private_Clean + Private_Dirty (USS)."""
    total = 0
    with open("/proc/%d/%s" % (pid, name)) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in keys:
                total += int(value.split()[0])
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--polls", type=int, default=2000)
    ap.add_argument("--fault-rate", type=float, default=0.2)
    ap.add_argument("--max-seconds", type=int, default=900)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="soak-")
    db = os.path.join(tmp, "inverter.db")
    sims, logs, sim_cmds = [], [], []
    sources = []
    for i, (fx, layout, split) in enumerate(BATTERIES, 1):
        sock, log = os.path.join(tmp, "bms%d.sock" % i), os.path.join(tmp, "bms%d.log" % i)
        open(log, "w").close()
        sim_cmds.append([sys.executable, SIM, "--socket", sock, "--log", log,
                         "--device-info", os.path.join(DATA, fx + "_device_info.hex"),
                         "--cell-info", os.path.join(DATA, fx + "_cell_info.hex"),
                         "--layout", layout, "--split", split, "--connections", "0",
                         "--frames", "2", "--random-faults", str(args.fault_rate)])
        logs.append(log)
        sources.append('{ plugin = "jk_ble"; name = "battery%d"; address = "C8:47:8C:00:00:0%d";'
                       ' transport = "unix:%s"; interval = 0.05; timeout = 1.0; }' % (i, i, sock))
    # a real mosquitto on 127.0.0.1 for the mqtt sink
    port = free_port()
    with open(os.path.join(tmp, "mosquitto.conf"), "w") as f:
        f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n" % port)
    broker = subprocess.Popen([os.environ.get("MOSQUITTO_BIN") or "/usr/sbin/mosquitto", "-c",
                               os.path.join(tmp, "mosquitto.conf")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conf = os.path.join(tmp, "soak.conf")
    with open(conf, "w") as f:
        f.write('collector = { state_dir = "%s"; };\nsources = (\n%s\n);\n'
                'calculators = ( { plugin = "soc_lifepo4"; } );\n'
                'sinks = ( { plugin = "sqlite_merge"; path = "%s"; history = true; max_age = 5;'
                ' batteries = ("battery1", "battery2", "battery3", "battery4"); },\n'
                '          { plugin = "mqtt"; host = "127.0.0.1"; port = %d; qos = 1;'
                ' discovery = true; topic_prefix = "soak"; } );\n'
                % (tmp, ",\n".join(sources), db, port))
    con = sqlite3.connect(db)
    con.execute(eamoon_poller.SCHEMA)
    con.commit()
    con.close()
    stop = threading.Event()
    inverter_rows = [0]

    def writer():
        c = sqlite3.connect(db, timeout=30)
        while not stop.is_set():
            c.execute("INSERT INTO readings (created_at, payload) VALUES (?, ?)",
                      (eamoon_poller.created_at("utc"),
                       json.dumps(eamoon_poller.inverter_payload(inverter_rows[0]))))
            c.commit()
            inverter_rows[0] += 1
            time.sleep(0.02)
        c.close()

    th = threading.Thread(target=writer)
    th.start()
    errlog = open(os.path.join(tmp, "collectord.log"), "w")
    d = subprocess.Popen([os.path.join(TOP_BUILD, "core", "collectord"), "-c", conf],
                         stderr=errlog)
    # Open fds are counted while no simulated BMS exists: every poll then fails
    # at once and holds nothing, so the two counts compare what stays open.
    # The first count comes after a warm-up with the BMS there, so what a
    # library opens once on first use (a sink's client, say) is in both.
    # ready: the daemon says it runs (a slow machine may take longer than a
    # fixed wait)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "instance(s) from" not in open(errlog.name).read():
        time.sleep(0.1)

    def start_sims():
        for cmd in sim_cmds:
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
            p.stdout.readline()
            sims.append(p)

    def stop_sims():
        for p in sims:  # the BMS go away; polls in flight end within their 1 s timeout
            p.kill()
            p.wait()
        sims.clear()
        time.sleep(2.5)

    def polls_so_far():
        return sum(sum(1 for l in open(log) if l.startswith("connection")) for log in logs)

    start_sims()
    warm = time.monotonic()
    while time.monotonic() - warm < 30 and polls_so_far() < 20:
        time.sleep(0.2)
    stop_sims()
    fds_start = min(len(os.listdir("/proc/%d/fd" % d.pid)) for _ in range(20)
                    if time.sleep(0.05) is None)
    start_sims()
    t0 = time.monotonic()
    polls = 0
    while time.monotonic() - t0 < args.max_seconds:
        polls = polls_so_far()
        if polls >= args.polls:
            break
        time.sleep(1)
    rss_peak_kb = proc_kb(d.pid, "status", "VmHWM")
    uss_kb = proc_kb(d.pid, "smaps_rollup", "Private_Clean", "Private_Dirty")
    pss_kb = proc_kb(d.pid, "smaps_rollup", "Pss")
    stop_sims()
    fds_end = min(len(os.listdir("/proc/%d/fd" % d.pid)) for _ in range(20)
                  if time.sleep(0.05) is None)
    d.send_signal(signal.SIGTERM)
    d.wait(timeout=60)
    stop.set()
    th.join()
    broker.terminate()
    broker.wait()
    errlog.close()
    text = open(os.path.join(tmp, "collectord.log")).read()
    yielded = ok = failed = 0
    for m in re.finditer(r"- battery\d+ - INFO - (\d+) poll\(s\) ok, (\d+) failed, (\d+) record", text):
        ok += int(m.group(1))
        failed += int(m.group(2))
        yielded += int(m.group(3))
    injected = {}
    for log in logs:
        for line in open(log):
            if line.startswith("fault "):
                injected[line.split()[1]] = injected.get(line.split()[1], 0) + 1
    causes = {}
    for line in text.splitlines():
        if " - WARNING - " in line and "battery" in line:
            msg = line.split(" - WARNING - ", 1)[1]
            key = re.sub(r"C8:47:8C:00:00:0\d: ", "", msg)
            key = re.sub(r"\d+ ms", "N ms", key)
            causes[key] = causes.get(key, 0) + 1
    con = sqlite3.connect(db)
    written = con.execute("SELECT count(*) FROM bms_readings").fetchone()[0]
    integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    rows = con.execute("SELECT count(*) FROM readings").fetchone()[0]
    con.close()
    report = {
        "polls": ok + failed, "polls_ok": ok, "polls_failed": failed,
        "faults_injected": injected, "failure_warnings_by_cause": causes,
        "records_yielded": yielded, "records_written": written,
        "records_lost": yielded - written, "inverter_rows": rows,
        "peak_rss_kb": rss_peak_kb, "uss_kb": uss_kb, "pss_kb": pss_kb, "fds_start": fds_start, "fds_end": fds_end,
        "integrity_check": integrity,
    }
    print(json.dumps(report, indent=2))
    good = (ok + failed >= args.polls * 0.95 and yielded == written and fds_end == fds_start
            and integrity == "ok" and d.returncode == 0)
    print("soak: %s" % ("PASS" if good else "FAIL"))
    subprocess.run(["rm", "-rf", tmp])
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
