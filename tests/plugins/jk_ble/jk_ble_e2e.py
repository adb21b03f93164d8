#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""jk_ble and jkbms-util against the simulated JK BMS (jk_sim.py) over the
unix transport: each protocol variant and GATT layout, the JK quirks, and
faults that must end in a clean failed poll followed by a good one. TAP."""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

TOP_SRC = os.environ["top_srcdir"]
TOP_BUILD = os.environ["top_builddir"]
DATA = os.path.join(TOP_SRC, "tests", "data", "jk")
SIM = os.path.join(TOP_SRC, "tests", "plugins", "jk_ble", "jk_sim.py")
UTIL = os.path.join(TOP_BUILD, "tools", "jkbms-util", "jkbms-util")
DAEMON = os.path.join(TOP_BUILD, "core", "collectord")
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "tools"))
from tap import Tap  # noqa: E402
from sims import stop  # noqa: E402
import eamoon_poller  # noqa: E402

VARIANTS = {
    "JK02_32S": ("jk02_32s_v11_device_info.hex", "jk02_32s_v11_cell_info.hex", 51.689),
    "JK02_24S": ("jk02_24s_v10_device_info.hex", "jk02_24s_v10_cell_info.hex", 78.735),
    "JK04": ("jk04_device_info.hex", "jk04_cell_info.hex", 53.691),
}
tap = Tap()
# /tmp, not $TMPDIR (the build tree): a unix socket path must fit in 108 bytes
tmp = tempfile.mkdtemp(prefix="jk-ble-", dir="/tmp")


check = tap.check


def sim(variant, *extra, name="sim"):
    sock = os.path.join(tmp, name + ".sock")
    log = os.path.join(tmp, name + ".log")
    if os.path.exists(log):
        os.unlink(log)
    di, ci, _ = VARIANTS[variant]
    p = subprocess.Popen([sys.executable, SIM, "--socket", sock, "--log", log,
                          "--device-info", os.path.join(DATA, di),
                          "--cell-info", os.path.join(DATA, ci)] + list(extra),
                         stdout=subprocess.PIPE, text=True)
    p.stdout.readline()  # "ready": the socket is listening
    return p, sock, log


def util(sock, *extra):
    return subprocess.run([UTIL, "--address", "C8:47:8C:00:00:01", "--transport", "unix:" + sock,
                           "--timeout", "5", "--json"] + list(extra),
                          capture_output=True, text=True, timeout=60)


def log_count(log, line):
    try:
        return sum(1 for l in open(log) if l.strip() == line)
    except FileNotFoundError:
        return 0


# --- jkbms-util --address over each layout, variant and notification split ---
cases = [
    ("JK02_32S", "old", "128", ["--peer-mtu-req"]),
    ("JK02_32S", "old", "tailhead", []),
    ("JK02_24S", "new", "150", ["--peer-mtu-req", "--dup-mtu"]),
    ("JK02_24S", "old", "random", []),
    ("JK04", "jk04", "20", ["--server-mtu", "23"]),
]
for variant, layout, split, extra in cases:
    p, sock, log = sim(variant, "--layout", layout, "--split", split, *extra)
    r = util(sock)
    stop(p)
    try:
        rec = json.loads(r.stdout)
    except ValueError:
        rec = {}
    want = VARIANTS[variant][2]
    check("jkbms-util reads %s from the %s GATT layout, %s-byte notifications%s"
          % (variant, layout, split, " (" + " ".join(extra) + ")" if extra else ""),
          r.returncode == 0 and rec.get("protocol") == variant
          and abs(rec.get("battery_voltage", 0) - want) < 0.001,
          r.stderr + r.stdout[:200])
    if layout == "new":
        check("two FFE1 characteristics: commands to the write-only one, CCCD of the notify one",
              log_count(log, "command 97") == 1 and log_count(log, "command 96") == 1)
    if "--peer-mtu-req" in extra:
        check("the BMS's own MTU request is answered, its other request refused politely",
              log_count(log, "request 03") == 1
              and log_count(log, "client answered our request with an error") == 1)

p, sock, log = sim("JK02_32S", "--layout", "old")
r = util(sock, "--hex", os.path.join(tmp, "raw.hex"))
stop(p)
d = subprocess.run([UTIL, "--decode", os.path.join(tmp, "raw.hex"), "--json"],
                   capture_output=True, text=True)
check("--hex saves the raw notifications, and --decode reads them back",
      r.returncode == 0 and d.returncode == 0 and '"battery_voltage":51.689' in d.stdout, d.stderr)
# The device-info frame carries the BMS's passcodes ("1234", "0000", "123457" in this
# capture): never in a dump someone may share.
with open(os.path.join(tmp, "raw.hex")) as f:
    dumped = bytes(int(x, 16) for line in f if not line.startswith("#") for x in line.split())
check("--hex: the device-info frame's passcodes are zeroed, the rest kept",
      b"123457" not in dumped and b"1234\0" not in dumped and b"0000\0" not in dumped
      and b"JK_PB2A16S15P" in dumped, dumped[:120])

# --hex writes each notification as it arrives: with a BMS that answers the
# device-info request and then stays silent, the file holds that frame while
# jkbms-util is still waiting for cell info.
p, sock, log = sim("JK02_32S", "--layout", "old", "--fault", "silence", "--faulty", "1")
live = os.path.join(tmp, "live.hex")
u = subprocess.Popen([UTIL, "--address", "C8:47:8C:00:00:01", "--transport", "unix:" + sock,
                      "--timeout", "6", "--hex", live],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
seen, running = "", False
deadline = time.monotonic() + 5
while time.monotonic() < deadline:
    try:
        seen = open(live).read()
    except FileNotFoundError:
        seen = ""
    if "\n55 aa eb 90 03" in seen:
        running = u.poll() is None
        break
    time.sleep(0.05)
stop(u)
stop(p)
check("--hex: the device-info notification is in the file while jkbms-util still runs",
      running and seen.endswith("\n"), seen[:300])

r = subprocess.run([UTIL, "--address", "C8:47:8C:00:00:01", "--transport",
                    "unix:" + os.path.join(tmp, "nobody.sock"), "--timeout", "1"],
                   capture_output=True, text=True)
check("nothing listening: one clear line, exit 1",
      r.returncode == 1 and r.stderr.count("\n") == 1 and "cannot connect" in r.stderr, r.stderr)


# --- connecting: the kernel's refusals, address types ---
connect_errors = {
    "EHOSTUNREACH": "rfkill list",
    "ENETDOWN": "bluetoothctl power on",
    "ENOSYS": "HCI 0x3E",
    "ECONNREFUSED": "btmgmt le on",
    "EBUSY": "bluetoothctl disconnect",
    "hangup": "dropped the link",
}
for name, says in connect_errors.items():
    p, sock, log = sim("JK02_32S", "--connect-error", name, name="err-" + name)
    r = util(sock, "--address-type", "public")
    stop(p)
    check("connect fails with %s: one line saying what to do" % name,
          r.returncode == 1 and r.stderr.count("\n") == 1 and says in r.stderr, r.stderr)
p, sock, log = sim("JK02_32S", "--address-type", "none", name="err-timeout")
r = util(sock, "--address-type", "public", "--timeout", "1")
stop(p)
check("connect times out: out of range or the phone app", r.returncode == 1
      and "out of range" in r.stderr and "phone app" in r.stderr, r.stderr)

# One overall deadline of 3 s: two attempts with a full timeout each take 6 s;
# under 5 s leaves room for a loaded machine and still tells the two apart.
p, sock, log = sim("JK02_32S", "--address-type", "random", "--connections", "2", name="auto")
t0 = time.monotonic()
r = util(sock, "--timeout", "3")
took = time.monotonic() - t0
stop(p)
check("auto: public first, random after its timeout, all within one timeout",
      r.returncode == 0 and took < 5
      and [l.split()[1] for l in open(log) if l.startswith("connect ")] == ["public", "random"],
      (took, r.stderr))
p, sock, log = sim("JK02_32S", "--address-type", "none", "--connections", "2", name="auto-none")
t0 = time.monotonic()
r = util(sock, "--timeout", "3")
took = time.monotonic() - t0
stop(p)
check("auto, no answer: fails within the timeout with the first attempt's error",
      r.returncode == 1 and took < 5 and "(public address): cannot connect: timed out" in r.stderr
      and "random address: no answer either" in r.stderr, (took, r.stderr))
devices = os.path.join(tmp, "known.yaml")
with open(devices, "w") as f:
    f.write("C8:47:8C:00:00:01:\n  address: C8:47:8C:00:00:01\n  address_type: random\n"
            "  last_seen: '2026-01-01T00:00:00.000000'\n  name: JK\n")
p, sock, log = sim("JK02_32S", "--address-type", "random", name="known")
r = subprocess.run([UTIL, "--address", "C8:47:8C:00:00:01", "--transport", "unix:" + sock,
                    "--timeout", "5", "--json"], capture_output=True, text=True, timeout=60,
                   env=dict(os.environ, JK_DEVICES_FILE=devices))
stop(p)
check("the address type from jk_devices.yaml is used: no public guess",
      r.returncode == 0 and [l.split()[1] for l in open(log) if l.startswith("connect ")] == ["random"],
      r.stderr)

p, sock, log = sim("JK02_32S", "--peer-mtu-req", name="mtu")
r = util(sock)
stop(p)
mtus = [l.split()[-1] for l in open(log) if l.startswith("client ") and "mtu" in l]
check("the MTU we request is the MTU we answer the BMS's request with",
      r.returncode == 0 and len(mtus) == 2 and mtus[0] == mtus[1], mtus)


# --- the jk_ble source inside collectord ---
def daemon_conf(name, sock, extra="", interval=0.3, timeout=2):
    db = os.path.join(tmp, name + ".db")
    conf = os.path.join(tmp, name + ".conf")
    con = sqlite3.connect(db)
    con.execute(eamoon_poller.SCHEMA)
    con.execute("INSERT INTO readings (created_at, payload) VALUES ('x', ?)",
                (json.dumps(eamoon_poller.inverter_payload(0)),))
    con.commit()
    con.close()
    with open(conf, "w") as f:
        f.write('collector = { state_dir = "%s"; };\n'
                'sources = ( { plugin = "jk_ble"; name = "battery1"; address = "C8:47:8C:00:00:01";'
                ' transport = "unix:%s"; interval = %s; timeout = %s; %s } );\n'
                'sinks = ( { plugin = "sqlite_merge"; path = "%s"; history = true; } );\n'
                % (tmp, sock, interval, timeout, extra, db))
    return conf, db


def history_rows(db):
    try:
        con = sqlite3.connect(db)
        n = con.execute("SELECT count(*) FROM bms_readings").fetchone()[0]
        con.close()
        return n
    except sqlite3.Error:
        return 0


def run_daemon(conf, db, want_rows, seconds=25):
    d = subprocess.Popen([DAEMON, "-c", conf], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and history_rows(db) < want_rows:
        time.sleep(0.1)
    d.terminate()
    err = d.communicate(timeout=30)[1]
    return d.returncode, err


for variant in ("JK02_24S", "JK02_32S", "JK04"):
    layout = "jk04" if variant == "JK04" else "old"
    p, sock, log = sim(variant, "--layout", layout, name="once")
    conf, db = daemon_conf("once-" + variant, sock)
    r = subprocess.run([DAEMON, "-c", conf, "--once"], capture_output=True, text=True, timeout=60)
    stop(p)
    con = sqlite3.connect(db)
    payload = json.loads(con.execute("SELECT payload FROM readings").fetchone()[0])
    con.close()
    want = "%.1f" % VARIANTS[variant][2]
    check("collectord --once with jk_ble (%s) puts the BMS values in inverter.db" % variant,
          r.returncode == 0 and payload.get("battery_voltage") == want, r.stderr[-400:])

# Reconnects reuse the discovered handles: no second discovery.
p, sock, log = sim("JK02_32S", "--connections", "3")
conf, db = daemon_conf("cache", sock)
rc, err = run_daemon(conf, db, 3)
stop(p)
check("three polls, three connections, one service discovery",
      history_rows(db) >= 3 and log_count(log, "connection 3") == 1
      and log_count(log, "request 06") == 1 and log_count(log, "command 97") == 3, err[-300:])

# A poll without a valid frame drops the cached handles: the next
# connection discovers again, the one after reuses them.
p, sock, log = sim("JK02_32S", "--connections", "3", "--fault", "bad_checksum", "--faulty", "1",
                   name="stale")
conf, db = daemon_conf("stale", sock, timeout=1.5)
rc, err = run_daemon(conf, db, 2)
stop(p)
check("after a poll with no valid frame the next connection rediscovers",
      history_rows(db) >= 2 and log_count(log, "connection 3") == 1
      and log_count(log, "request 06") == 2, err[-300:])

# Another firmware version in the device info: rediscover next time.
p, sock, log = sim("JK02_32S", "--connections", "3", "--firmware-change-at", "2", name="fw")
conf, db = daemon_conf("fw", sock)
rc, err = run_daemon(conf, db, 3)
stop(p)
check("a new firmware version drops the cached handles once",
      history_rows(db) >= 3 and log_count(log, "connection 3") == 1
      and log_count(log, "request 06") == 2, err[-300:])

# keep_connected: one link, the newest streamed frame each interval.
p, sock, log = sim("JK02_32S", "--connections", "1", "--frames", "40")
conf, db = daemon_conf("keep", sock, "keep_connected = true;")
rc, err = run_daemon(conf, db, 3)
stop(p)
check("keep_connected: several records over one connection",
      history_rows(db) >= 3 and log_count(log, "connection 1") == 1
      and log_count(log, "command 97") == 1, err[-300:])

# Two batteries side by side on one adapter: connects take turns (the
# adapter lock in the state dir), both report.
pa, socka, loga = sim("JK02_32S", "--connections", "0", name="side-a")
pb, sockb, logb = sim("JK02_24S", "--layout", "new", "--split", "150", "--connections", "0",
                      name="side-b")
conf, db = daemon_conf("side", socka)
with open(conf) as f:
    text = f.read()
text = text.replace("interval = 0.3; timeout = 2;  } );",
                    'interval = 0.3; timeout = 2; }, { plugin = "jk_ble"; name = "battery2";'
                    ' address = "C8:47:8C:00:00:02"; transport = "unix:%s"; interval = 0.3;'
                    ' timeout = 2; } );' % sockb)
text = text.replace("history = true;", 'history = true; batteries = ("battery1", "battery2");')
with open(conf, "w") as f:
    f.write(text)
rc, err = run_daemon(conf, db, 6)
stop(pa)
stop(pb)
con = sqlite3.connect(db)
per = dict(con.execute("SELECT battery, count(*) FROM bms_readings GROUP BY battery").fetchall())
payload = json.loads(con.execute("SELECT payload FROM readings").fetchone()[0])
con.close()
check("two jk_ble instances poll side by side; battery2_ keys appear",
      rc == 0 and per.get(1, 0) >= 2 and per.get(2, 0) >= 2
      and payload.get("battery2_battery_voltage") == "78.7"
      and os.path.exists(os.path.join(tmp, "adapter-default.lock")), (per, err[-300:]))

# Faults: the first connection misbehaves; the poll fails cleanly (one
# warning naming the device), nothing is written, the next poll is good.
faults = {
    "disconnect_mid_frame": "the BMS disconnected",
    "bad_checksum": "no valid cell-info frame",
    "silence": "no valid cell-info frame",
    "att_error": "ATT error 0x03",
    "slow": "no valid cell-info frame",
}
for fault, says in faults.items():
    p, sock, log = sim("JK02_24S", "--layout", "new", "--split", "150", "--fault", fault,
                       "--faulty", "1", "--connections", "2", name=fault)
    conf, db = daemon_conf(fault, sock, timeout=1.5)
    rc, err = run_daemon(conf, db, 1)
    stop(p)
    # The simulator serves two connections and goes: polls after the good
    # one (a slow machine may make some before the row is seen) cannot connect.
    warnings = [l for l in err.splitlines() if " - battery1 - WARNING - " in l
                and not ("cannot connect" in l and os.path.basename(sock) in l)]
    check("fault %s: a clean failed poll, then a good one" % fault,
          rc == 0 and history_rows(db) == 1 and len(warnings) == 1 and says in warnings[0]
          and "C8:47:8C:00:00:01" in warnings[0], "\n".join(warnings) + err[-300:])

p, sock, log = sim("JK02_24S", "--layout", "new", "--fault", "settings_first", "--faulty", "1",
                   name="settings")
conf, db = daemon_conf("settings", sock)
r = subprocess.run([DAEMON, "-c", conf, "--once"], capture_output=True, text=True, timeout=60)
stop(p)
check("a BMS that answers settings before cell info still reads", r.returncode == 0, r.stderr)

tap.finish(cleanup=[lambda: subprocess.run(["rm", "-rf", tmp])])
