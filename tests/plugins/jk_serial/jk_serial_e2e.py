#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""jk_serial and jkbms-util --serial against a simulated bus on a pty pair
(jk_serial_sim.py): Modbus RTU with register images built from the real
JK02_32S frames, two slaves, a missing slave, exception answers, CRC errors,
short answers; the 0x4E57 path with the real recorded answer, split and
behind junk; a device that goes away and comes back. TAP."""
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
UART = os.path.join(TOP_SRC, "tests", "data", "jk-uart", "jk_b2a24s20p_1007_13s")
UTIL = os.path.join(TOP_BUILD, "tools", "jkbms-util", "jkbms-util")
DAEMON = os.path.join(TOP_BUILD, "core", "collectord")
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "plugins", "jk_serial"))
import jk_serial_sim as sim  # noqa: E402
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "tools"))
from tap import Tap  # noqa: E402

CELL = sim.read_hex(os.path.join(DATA, "jk02_32s_v11_cell_info.hex"))
INFO = sim.read_hex(os.path.join(DATA, "jk02_32s_v11_device_info.hex"))
tap = Tap()
check = tap.check
tmp = tempfile.mkdtemp(prefix="jk-serial-")


def with_serial(frame, serial):
    """The device-info frame with another serial number (offset 86, 11 bytes)
    and its checksum fixed, for a second pack on the bus."""
    f = bytearray(frame)
    f[86:97] = serial.encode().ljust(11, b"\0")
    f[299] = sum(f[:299]) & 0xFF
    return bytes(f)


def util(bus, *extra):
    return subprocess.run([UTIL, "--serial", bus.path, "--timeout", "0.5"] + list(extra),
                          capture_output=True, text=True, timeout=60)


# Metric of the record for each field the fixtures' expected values name.
METRIC = {
    "cells": "cells", "temperatures": "temperatures", "cell_min": "bms_cell_min_v",
    "cell_max": "bms_cell_max_v", "cell_min_index": "bms_cell_min_index",
    "cell_max_index": "bms_cell_max_index", "cell_delta": "bms_cell_delta_v",
    "total_voltage": "battery_voltage", "current": "battery_current",
    "mos_temp": "mos_temperature", "soc": "bms_soc", "runtime": "total_runtime_s",
    "charging": "charging_enabled", "discharging": "discharging_enabled", "heating": "heating",
    "hardware_version": "bms_hw_version", "software_version": "bms_sw_version",
    "cycles": "cycle_count", "cell_count": "bms_cell_count",
}


def mismatches(record, expected):
    """Every expected value the record does not reproduce."""
    bad = []
    for e in expected:
        metric = METRIC[e["field"]]
        got = record.get(metric)
        if "index" in e:
            got = got[e["index"] - 1] if isinstance(got, list) and len(got) >= e["index"] else None
        want = e["value"]
        if isinstance(want, bool) or isinstance(want, str):
            ok = got == want
        else:
            ok = isinstance(got, (int, float)) and abs(got - want) <= max(e.get("tolerance", 0),
                                                                          1e-6)
        if not ok:
            bad.append((e["field"], e.get("index"), want, got))
    return bad


def expected_of(name):
    return json.load(open(os.path.join(DATA, name)))["expected"]


# --- Modbus: one pack, the fixtures' values ---
bus = sim.Bus()
bus.add_slave(1, CELL, INFO)
r = util(bus, "--json")
rec = json.loads(r.stdout) if r.returncode == 0 else {}
bad = mismatches(rec, expected_of("jk02_32s_v11_cell_info.expected.json")
                 + expected_of("jk02_32s_v11_device_info.expected.json"))
check("modbus: every value asserted for the real JK02_32S frames, from the register image",
      r.returncode == 0 and not bad, (bad, r.stderr))
check("modbus: the device info once, the live block in two reads of 68 registers",
      bus.requests == [(1, 0x1400, 48), (1, 0x1200, 68), (1, 0x1288, 68)], bus.requests)

# The same pack over BLE: jkbms-util --decode of the frames gives the same record.
cap = os.path.join(tmp, "ble.hex")
with open(cap, "w") as f:
    f.write(INFO.hex(" ") + "\n" + CELL.hex(" ") + "\n")
d = subprocess.run([UTIL, "--decode", cap, "--json"], capture_output=True, text=True, timeout=60)
ble = json.loads(d.stdout.splitlines()[-1]) if d.returncode == 0 and d.stdout else {"x": 1}
diff = sorted(k for k in set(ble) | set(rec) if ble.get(k) != rec.get(k))
check("modbus and BLE yield the same record for the same pack", d.returncode == 0 and not diff,
      [(k, ble.get(k), rec.get(k)) for k in diff])

r = util(bus)
check("modbus: the human report is the BLE one",
      r.returncode == 0 and "Total voltage: 51.689 V" in r.stdout
      and "hw 14.XA, sw 14.20" in r.stdout and "Cell 11: 3.216 V" in r.stdout, r.stdout)

hexfile = os.path.join(tmp, "mb.hex")
r = util(bus, "--hex", hexfile)
lines = open(hexfile).read().splitlines() if os.path.exists(hexfile) else []
sent = [l for l in lines if l.startswith("# sent: ")]
got = [bytes.fromhex(l) for l in lines if l and not l.startswith("#")]
check("--hex saves the Modbus exchange: three requests, three answers with good CRCs",
      r.returncode == 0 and len(sent) == 3 and len(got) == 3
      and sent[1] == "# sent: " + (bytes([1, 3, 0x12, 0, 0, 68]) + sim.crc16(
          bytes([1, 3, 0x12, 0, 0, 68]))).hex(" ")
      and all(sim.crc16(a[:-2]) == a[-2:] for a in got)
      and got[1][3:] .startswith(bytes.fromhex("0cae")), lines[:4])

# --- faults: each is one clear error, and the next read is good ---
faults = [
    ("exception", "slave 1 on %s refused register 0x1200: Illegal data address" % bus.path),
    ("crc", "slave 1 on %s: Invalid CRC in the answer to register 0x1200" % bus.path),
    ("short", "no answer from slave 1 on %s" % bus.path),
    ("silent", "no answer from slave 1 on %s: check its DIP switches; address 0 makes it the "
               "bus master" % bus.path),
]
for fault, says in faults:
    bus.faults[1] = [None, fault]  # the device info is fine, the live block is not
    r1 = util(bus, "--json")
    r2 = util(bus, "--json")
    check("modbus fault %s: one error line naming slave and device, then a good read" % fault,
          r1.returncode == 1 and r1.stderr.count("\n") == 1 and says in r1.stderr
          and r2.returncode == 0 and json.loads(r2.stdout)["battery_voltage"] == 51.689,
          (r1.stderr, r2.stderr))
bus.faults[1] = ["exception"]
r = util(bus, "--json")
rec = json.loads(r.stdout) if r.returncode == 0 else {}
check("modbus: a pack that refuses the device-info block still reports its cells",
      r.returncode == 0 and rec.get("battery_voltage") == 51.689 and "bms_model" not in rec,
      r.stderr)
bus.close()

# --- two slaves on one bus, and one that is not there ---
bus = sim.Bus(delay=0.02)
bus.add_slave(1, CELL, INFO)
bus.add_slave(2, CELL, with_serial(INFO, "2222222222"))
r1, r2 = util(bus, "--json"), util(bus, "--json", "--slave", "2")
s1 = json.loads(r1.stdout).get("bms_serial") if r1.returncode == 0 else None
s2 = json.loads(r2.stdout).get("bms_serial") if r2.returncode == 0 else None
check("two slaves on one bus: --slave picks the pack", s1 == "3092572134" and s2 == "2222222222",
      (r1.stderr, r2.stderr))
r = util(bus, "--slave", "3")
check("a slave that does not answer: the DIP-switch hint",
      r.returncode == 1 and r.stderr.strip() == "jkbms-util: no answer from slave 3 on %s: check "
      "its DIP switches; address 0 makes it the bus master" % bus.path, r.stderr)


def daemon_conf(name, sources):
    db = os.path.join(tmp, name + ".db")
    conf = os.path.join(tmp, name + ".conf")
    # batteries in pack order, naming only the packs this config has
    names = ['"%s"' % n for n in ("pack1", "pack2", "pack3")
             if any('name = "%s";' % n in s for s in sources)]
    with open(conf, "w") as f:
        f.write('collector = { state_dir = "%s"; };\nsources = ( %s );\n'
                'sinks = ( { plugin = "sqlite_merge"; path = "%s"; mode = "append";'
                ' history = true; batteries = (%s); } );\n'
                % (tmp, ", ".join(sources), db, ", ".join(names)))
    return conf, db


def source(name, device, extra=""):
    return ('{ plugin = "jk_serial"; name = "%s"; device = "%s"; interval = 0.3; timeout = 0.3;'
            ' %s }' % (name, device, extra))


def rows(db):
    try:
        con = sqlite3.connect(db)
        out = con.execute("SELECT battery, payload FROM bms_readings ORDER BY id").fetchall()
        con.close()
        return [(b, json.loads(p)) for b, p in out]
    except sqlite3.Error:
        return []


def run_daemon(conf, db, until, seconds=20):
    d = subprocess.Popen([DAEMON, "-c", conf], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not until(rows(db)):
        time.sleep(0.1)
    d.terminate()
    return d.returncode, d.communicate(timeout=30)[1]


# Three instances on one device: they take turns on the bus (the simulated
# bus counts a request arriving while an answer is pending), the missing
# slave is one error line, the other two report.
bus.requests.clear()
conf, db = daemon_conf("bus", [source("pack1", bus.path), source("pack2", bus.path, "slave = 2;"),
                               source("pack3", bus.path, "slave = 3;")])


def two_each(rs):
    return sum(1 for b, _ in rs if b == 1) >= 3 and sum(1 for b, _ in rs if b == 2) >= 3


rc, err = run_daemon(conf, db, two_each)
rs = rows(db)
errors = [l for l in err.splitlines() if " - pack3 - ERROR - " in l]
serials = {b: p.get("bms_serial") for b, p in rs}
check("three instances on one bus: one request at a time",
      two_each(rs) and bus.collisions == 0 and len(bus.requests) >= 9, (bus.collisions, err[-500:]))
check("each pack's record under its own battery, the wire in bms_link",
      serials.get(1) == "3092572134" and serials.get(2) == "2222222222"
      and all(p.get("bms_link") == "modbus" and p.get("protocol") == "JK02_32S" for _, p in rs),
      (serials, rs[:1]))
check("the missing slave: one error line, however many polls",
      len(errors) == 1 and "no answer from slave 3 on %s" % bus.path in errors[0],
      "\n".join(errors) or err[-500:])
bus.close()

# --- --check: instances that disagree about one bus, or read one pack twice ---
def check_conf(name, second):
    conf, _ = daemon_conf(name, [source("pack1", "/dev/ttyJK-none"),
                                 source("pack2", "/dev/ttyJK-none", second)])
    return subprocess.run([DAEMON, "-c", conf, "--check"], capture_output=True, text=True,
                          timeout=60)


r = check_conf("proto", 'protocol = "uart";')
check("--check: one device, two protocols is refused naming both instances",
      r.returncode == 78 and "pack2: device: /dev/ttyJK-none is used by pack1 with another "
      "protocol or baud rate" in r.stderr, r.stderr)
r = check_conf("same", "slave = 1;")
check("--check: two instances on one slave is refused",
      r.returncode == 78 and "pack2: slave: this slave is read by pack1 already" in r.stderr,
      r.stderr)
r = check_conf("ok", "slave = 2;")
check("--check: two slaves on one device pass, and nothing is opened", r.returncode == 0,
      r.stderr)

# --- a device that goes away and comes back (a by-id style symlink) ---
link = os.path.join(tmp, "usb-JK_RS485-if00-port0")
bus = sim.Bus()
bus.add_slave(1, CELL, INFO)
os.symlink(bus.path, link)
conf, db = daemon_conf("replug", [source("pack1", link)])
d = subprocess.Popen([DAEMON, "-c", conf], stderr=subprocess.PIPE, text=True)
deadline = time.monotonic() + 20
while time.monotonic() < deadline and len(rows(db)) < 2:
    time.sleep(0.1)
before = len(rows(db))
os.unlink(link)
bus.close()
time.sleep(2.0)  # several polls fail while it is gone
during = len(rows(db))
bus = sim.Bus()
bus.add_slave(1, CELL, INFO)
os.symlink(bus.path, link)
while time.monotonic() < deadline + 10 and len(rows(db)) < during + 2:
    time.sleep(0.1)
after = len(rows(db))
d.terminate()
err = d.communicate(timeout=30)[1]
bus.close()
errors = [l for l in err.splitlines() if " - pack1 - ERROR - " in l]
check("unplugged: one error line for the outage, records again once it is back",
      before >= 2 and after >= during + 2 and len(errors) == 1 and link in errors[0]
      and "answers again" in err, ("\n".join(errors), before, during, after, err[-600:]))

# --- 0x4E57: the real recorded answer, split, behind junk and a bad frame ---
req, ans = sim.read_pdu(UART + ".pdu")
want = json.load(open(UART + ".expected.json"))
corrupt = bytearray(ans)
corrupt[40] ^= 0x55  # a checksum error
bus = sim.Bus("uart")
bus.uart_answer = ans
bus.uart_prefix = b"AT\r\n\x4e\x57\x01" + bytes(corrupt) + b"\x00\xff"
bus.uart_chunks = [1, 7, 3, 64]
hexfile = os.path.join(tmp, "uart.hex")
r = util(bus, "--serial-protocol", "uart", "--json", "--hex", hexfile)
rec = json.loads(r.stdout) if r.returncode == 0 else {}
exp = ([{"field": "cells", "index": i + 1, "value": v, "tolerance": 0.0005}
        for i, v in enumerate(want["cells"])]
       + [{"field": "temperatures", "index": i + 1, "value": v}
          for i, v in enumerate(want["temperatures"])]
       + [{"field": f, "value": want[f], "tolerance": 0.0005}
          for f in ("cell_count", "total_voltage", "current", "soc", "mos_temp", "cycles")])
bad = mismatches(rec, exp)
check("uart: the real 0x4E57 answer, split and behind junk and a bad frame, decodes to its values",
      r.returncode == 0 and not bad and rec.get("bms_sw_version") == "10.07"
      and rec.get("bms_hw_version") == "10.XW" and rec.get("protocol") == "JK_UART"
      and bus.uart_requests == 1, (bad, r.stderr))
check("uart: values the 0x4E57 frame lacks are absent, not zero",
      all(k not in rec for k in ("cell_resistances", "soh", "capacity_remaining_ah",
                                 "balance_current", "heating")), sorted(rec))
lines = open(hexfile).read().splitlines() if os.path.exists(hexfile) else []
sent = [l for l in lines if l.startswith("# sent: ")]
recv = b"".join(bytes.fromhex(l) for l in lines if l and not l.startswith("#"))
check("--hex saves the UART exchange as sent and read",
      sent == ["# sent: " + req.hex(" ")] and recv.endswith(ans), lines[:3])
bus.uart_answer = b""
bus.uart_prefix = b""
r = util(bus, "--serial-protocol", "uart")
check("uart: silence is one line naming the device",
      r.returncode == 1 and r.stderr.count("\n") == 1 and "no answer on %s" % bus.path in r.stderr,
      r.stderr)
bus.close()

tap.finish(cleanup=[lambda: subprocess.run(["rm", "-rf", tmp])])
