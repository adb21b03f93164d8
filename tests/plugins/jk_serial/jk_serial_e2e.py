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

CELL = sim.read_hex(os.path.join(DATA, "jk02_32s_v11_cell_info.hex"))
INFO = sim.read_hex(os.path.join(DATA, "jk02_32s_v11_device_info.hex"))
results = []
tmp = tempfile.mkdtemp(prefix="jk-serial-")


def check(name, cond, detail=""):
    results.append((name, bool(cond), detail))


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


SECRET = [sim.PASSCODE[:5], sim.PASSCODE[:5].hex(" ").encode(), sim.PASSCODE[:5].hex().encode(),
          b"123456", b"31 32 33 34 35 36", b"313233343536"]  # the simulated passcode; the 0x4E57 password


def leaks(*texts):
    """Which secret appears in any of these (str or bytes)."""
    found = []
    for t in texts:
        b = t.encode() if isinstance(t, str) else t
        found += [s for s in SECRET if s in b.lower() or s in b]
    return found


def text_of(path):
    return open(path).read() if os.path.exists(path) else ""


def hexdump(path):
    lines = open(path).read().splitlines() if os.path.exists(path) else []
    sent = [bytes.fromhex(l[len("# sent: "):]) for l in lines if l.startswith("# sent: ")]
    got = b"".join(bytes.fromhex(l) for l in lines if l and not l.startswith("#"))
    return lines, sent, got


# --- Modbus, the trigger protocol (default), on a bus as real packs behave:
# cold (FC 0x03 unanswered), echoing adapter ---
bus = sim.Bus(echo=True)
bus.add_slave(1, CELL, INFO)
hexfile = os.path.join(tmp, "mb.hex")
r = util(bus, "--json", "--hex", hexfile)
rec = json.loads(r.stdout) if r.returncode == 0 else {}
bad = mismatches(rec, expected_of("jk02_32s_v11_cell_info.expected.json")
                 + expected_of("jk02_32s_v11_device_info.expected.json"))
check("trigger: every value asserted for the real JK02_32S frames, on a cold bus, behind an echo",
      r.returncode == 0 and not bad, (bad, r.stderr))
check("trigger: about (0x161C) and settings (0x161E) at the start, then status (0x1620)",
      bus.requests == [(1, 0x161C, 0), (1, 0x161E, 0), (1, 0x1620, 0)] and bus.lost == 0,
      (bus.requests, bus.lost))
check("trigger: T1-T5 as the V1.1 map places them",
      rec.get("temperatures") == [17.7, 17.7, 17.3, 17.9, 18.0], rec.get("temperatures"))
lines, sent, got = hexdump(hexfile)
check("--hex: the three triggers as sent, the 310 bytes of each answer (and the echoes)",
      r.returncode == 0 and sent == [sim.trigger(1, 0x161C), sim.trigger(1, 0x161E),
                                     sim.trigger(1, 0x1620)]
      and got.endswith(bus.answer(1, 0x1620)) and got.count(b"\x55\xaa\xeb\x90") == 3,
      lines[:4])
check("the passcode is in no output and no dump (trigger)",
      sim.PASSCODE[:5] in bus.slaves[1]["about"] and not leaks(r.stdout, r.stderr, got,
                                                               text_of(hexfile)),
      leaks(r.stdout, r.stderr, got))

# The same pack over BLE: jkbms-util --decode of the frames gives the same record.
cap = os.path.join(tmp, "ble.hex")
with open(cap, "w") as f:
    f.write(INFO.hex(" ") + "\n" + CELL.hex(" ") + "\n")
d = subprocess.run([UTIL, "--decode", cap, "--json"], capture_output=True, text=True, timeout=60)
ble = json.loads(d.stdout.splitlines()[-1]) if d.returncode == 0 and d.stdout else {"x": 1}
diff = sorted(k for k in set(ble) | set(rec) if ble.get(k) != rec.get(k))
check("trigger and BLE yield the same record for the same pack (one decoder)",
      d.returncode == 0 and not diff, [(k, ble.get(k), rec.get(k)) for k in diff])

r = util(bus)
check("trigger: the human report is the BLE one",
      r.returncode == 0 and "Total voltage: 51.689 V" in r.stdout
      and "hw 14.XA, sw 14.20" in r.stdout and "Cell 11: 3.216 V" in r.stdout
      and not leaks(r.stdout), r.stdout)

# A restart with a new firmware (the run time goes back): about and settings again.
bus.requests.clear()
util_proc = subprocess.Popen([UTIL, "--serial", bus.path, "--timeout", "0.5", "--json", "--count",
                              "3", "--interval", "0.5"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
first = util_proc.stdout.readline()  # the first read is printed
bus.restart(1, "15.41")
out, uerr = util_proc.communicate(timeout=60)
recs = [json.loads(l) for l in (first + out).splitlines() if l.startswith("{")]
check("trigger: after a restart with a new firmware, about and settings are read again, "
      "and one line says so",
      util_proc.returncode == 0 and [q[1] for q in bus.requests].count(0x161C) == 2
      and "restarted with another firmware: 15.41, was 14.20" in uerr
      and recs[-1].get("bms_sw_version") == "15.41",
      ([q[1] for q in bus.requests], uerr, [r.get("bms_sw_version") for r in recs]))
bus.add_slave(1, CELL, INFO)

# --- faults: a timeout or bad CRC is retried once; each failure one clear line ---
bus.requests.clear()
bus.faults[1] = [None, None, "crc"]  # about, settings fine; the status frame's ack corrupted once
r = util(bus, "--json")
check("trigger: one bad acknowledgement CRC is retried, and the read is good",
      r.returncode == 0 and json.loads(r.stdout)["battery_voltage"] == 51.689
      and [q[1] for q in bus.requests] == [0x161C, 0x161E, 0x1620, 0x1620], (bus.requests, r.stderr))
faults = [
    (["exception"], "slave 1 on %s refused register 0x1620: exception 02, illegal data address"),
    (["busy"], "slave 1 on %s refused register 0x1620: exception 06, slave device busy"),
    (["crc", "crc"], "slave 1 on %s: the acknowledgement after the frame answering 0x1620 is bad"),
    (["short", "short"], "slave 1 on %s: the answer to register 0x1620 was not complete within"),
    (["silent", "silent"], "no answer from slave 1 on %s: check its DIP switches"),
]
for fault, says in faults:
    bus.faults[1] = [None, None] + fault  # the device info is fine, the status is not
    r1 = util(bus, "--json")
    r2 = util(bus, "--json")
    check("trigger fault %s: one error line naming slave and device, then a good read" % fault[0],
          r1.returncode == 1 and r1.stderr.count("\n") == 1 and says % bus.path in r1.stderr
          and "noise" not in r1.stderr and r2.returncode == 0
          and json.loads(r2.stdout)["battery_voltage"] == 51.689, (r1.stderr, r2.stderr))
bus.faults[1] = ["exception", None]
r = util(bus, "--json")
rec = json.loads(r.stdout) if r.returncode == 0 else {}
check("trigger: a pack that refuses the about frame still reports its cells",
      r.returncode == 0 and rec.get("battery_voltage") == 51.689 and "bms_model" not in rec,
      r.stderr)

# --- FC 0x03 register reads (request = registers), on a warm bus (firmware that serves
# FC 0x03 steadily, or a bus kept warm by FC 0x10 traffic) ---
bus.warm_s = 1e9
bus.requests.clear()
hexfile = os.path.join(tmp, "regs.hex")
r = util(bus, "--json", "--request", "registers", "--hex", hexfile)
rec = json.loads(r.stdout) if r.returncode == 0 else {}
bad = mismatches(rec, expected_of("jk02_32s_v11_cell_info.expected.json")
                 + expected_of("jk02_32s_v11_device_info.expected.json"))
check("registers: every value asserted, from the register image, on a warm bus",
      r.returncode == 0 and not bad, (bad, r.stderr))
check("registers: 20 registers of device info, name and serial apart, the documented live "
      "spans in reads of at most 32 registers, the passcodes never read",
      bus.requests == [(1, 0x1400, 20), (1, 0x1428, 8), (1, 0x1448, 10),
                       (1, 0x1200, 32), (1, 0x1240, 5), (1, 0x124A, 32), (1, 0x128A, 32),
                       (1, 0x12CA, 4), (1, 0x12F8, 3)] and bus.secret_reads == 0 and bus.lost == 0,
      (bus.requests, bus.secret_reads, bus.lost))
lines, sent, got = hexdump(hexfile)
check("the passcode is in no output and no dump (registers)",
      not leaks(r.stdout, r.stderr, got, text_of(hexfile)) and len(sent) == 9,
      (leaks(r.stdout, r.stderr, got), lines[:3]))
bus.faults[1] = [None, "exception"]  # the name read refused
r = util(bus, "--json", "--request", "registers")
rec = json.loads(r.stdout) if r.returncode == 0 else {}
check("registers: a refused name/serial read keeps the model and versions of the first",
      r.returncode == 0 and rec.get("bms_model") == "JK_PB2A16S15P"
      and rec.get("bms_sw_version") == "14.20" and rec.get("battery_voltage") == 51.689,
      (r.stderr, rec.get("bms_model")))
bus.requests.clear()
bus.faults[1] = []
r = util(bus, "--json", "--request", "registers", "--max-registers", "40")
check("registers: max_registers 40 reads each documented span whole (at most 37 registers)",
      r.returncode == 0 and max(q[2] for q in bus.requests) == 37
      and len(bus.requests) == 7, (bus.requests, r.stderr))
bus.faults[1] = [None, None, None, "value"]  # the first live read
r = util(bus, "--json", "--request", "registers")
check("registers: exception 03 in its own words (too many registers: lower max_registers)",
      r.returncode == 1 and "refused register 0x1200: exception 03, illegal data value" in r.stderr
      and "max_registers" in r.stderr, r.stderr)
bus.close()

# A cold bus: FC 0x03 alone gets nothing, as the field notes say; triggers revive it.
bus = sim.Bus(warm_s=1.0)
bus.add_slave(1, CELL, INFO)
r = util(bus, "--json", "--request", "registers")
r2 = util(bus, "--json")
check("a cold bus answers no FC 0x03; the trigger protocol reads it",
      r.returncode == 1 and "no answer from slave 1" in r.stderr and r2.returncode == 0,
      (r.stderr, r2.stderr))

# --- a pack that trickles its answer (issue 25.3): the whole answer within the timeout ---
bus.faults[1] = [None, None, "trickle", "trickle"]
bus.trickle_s = 0.2
t0 = time.monotonic()
r = util(bus, "--json")
took = time.monotonic() - t0
check("trickle: one read ends within its two timeouts, one clear line",
      r.returncode == 1 and "not complete within 500 ms" in r.stderr and took < 4.0,
      (took, r.stderr))
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
      r.returncode == 1 and r.stderr.strip().startswith("jkbms-util: no answer from slave 3 on %s: "
                                                        "check its DIP switches" % bus.path),
      r.stderr)


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
check("three instances on one bus: one request at a time, none lost",
      two_each(rs) and bus.collisions == 0 and bus.lost == 0 and len(bus.requests) >= 9,
      (bus.collisions, bus.lost, err[-500:]))
check("each pack's record under its own battery, the wire in bms_link",
      serials.get(1) == "3092572134" and serials.get(2) == "2222222222"
      and all(p.get("bms_link") == "modbus" and p.get("protocol") == "JK02_32S" for _, p in rs),
      (serials, rs[:1]))
check("the missing slave: one error line, however many polls",
      len(errors) == 1 and "no answer from slave 3 on %s" % bus.path in errors[0],
      "\n".join(errors) or err[-500:])
modes = [l for l in err.splitlines() if "no master pack on this bus" in l]
check("one line says the bus is polled (no master pack heard), not one per instance",
      len(modes) == 1 and "polling it (trigger protocol)" in modes[0], modes or err[-500:])
check("the passcode is in no record and no log line",
      not leaks(err, json.dumps([p for _, p in rs])), leaks(err))
bus.close()

# --- listen-only: a master pack polls slaves 1 and 2 and broadcasts its own frames ---
def with_soc(frame, soc):
    """The cell-info frame with another SOC (byte 173), to tell packs apart."""
    f = bytearray(frame)
    f[173] = soc
    return sim.with_checksum(f)


bus = sim.Bus()
bus.add_slave(1, CELL, INFO)
bus.add_slave(2, with_soc(CELL, 62), with_serial(INFO, "2222222222"))
bus.start_master([1, 2], cycle=1.0, scan=[4, 5], probe_s=0.25,
                 own=(with_soc(CELL, 72), with_serial(INFO, "0000000000")))
conf, db = daemon_conf("listen", [source("pack1", bus.path, "listen_timeout = 3.0;"),
                                  source("pack2", bus.path, "slave = 2; listen_timeout = 3.0;"),
                                  source("pack3", bus.path, "slave = 0; listen_timeout = 3.0;")])


def three_each(rs):
    return all(sum(1 for b, _ in rs if b == n) >= 3 for n in (1, 2, 3))


rc, err = run_daemon(conf, db, three_each, seconds=30)
rs = rows(db)
modes = [l for l in err.splitlines() if "listening only" in l]
check("listen-only: records for slaves 1 and 2 and the master pack, decoded from what they "
      "answer the master, each frame under the address of the trigger before it",
      three_each(rs) and all(p.get("protocol") == "JK02_32S" for _, p in rs)
      and {(b, p.get("bms_soc")) for b, p in rs} == {(1, 52), (2, 62), (3, 72)},
      ([(b, p.get("bms_soc")) for b, p in rs], err[-800:]))
check("listen-only: collectord wrote not one byte to the bus", bus.written == 0, bus.written)
check("listen-only: one line says a master pack polls the bus; no error, no 'noise'",
      len(modes) == 1 and "a master pack (DIP address 0) polls this bus" in modes[0]
      and " - ERROR - " not in err and "noise" not in err, err[-800:])
r = util(bus, "--json", "--slave", "2")
check("jkbms-util listens too on a bus with a master (auto), and says so",
      r.returncode == 0 and json.loads(r.stdout).get("battery_voltage") == 51.689
      and "listening only" in r.stderr and bus.written == 0, (r.stderr, bus.written))

# The master pack leaves: after a listen_timeout of silence, auto mode polls again.
conf, db = daemon_conf("quiet", [source("pack1", bus.path, "listen_timeout = 1.0;"),
                                 source("pack2", bus.path, "slave = 2; listen_timeout = 1.0;")])
d = subprocess.Popen([DAEMON, "-c", conf], stderr=subprocess.PIPE, text=True)
deadline = time.monotonic() + 20
while time.monotonic() < deadline and len(rows(db)) < 2:
    time.sleep(0.1)
listened = len(rows(db)) >= 2 and bus.written == 0
bus.stop_master()
while time.monotonic() < deadline + 10 and not bus.requests:
    time.sleep(0.1)
while time.monotonic() < deadline + 10 and len({b for b, _ in rows(db)}) < 2:
    time.sleep(0.1)
time.sleep(1.5)
d.terminate()
err = d.communicate(timeout=30)[1]
check("auto: when the master pack goes quiet, one line says so and the bus is polled",
      listened and any(q[1] == 0x1620 for q in bus.requests)
      and "nothing heard in 1000 ms: no master pack on this bus: polling it" in err
      and len(rows(db)) >= 4, (listened, bus.requests[:4], len(rows(db)), err[-800:]))
bus.close()

# --- a trickling slave (issue 25.3): SIGTERM ends the daemon within flush_timeout + timeout ---
bus = sim.Bus()
bus.add_slave(1, CELL, INFO)
bus.trickle_s = 0.4
bus.faults[1] = [None, None] + ["trickle"] * 50
conf, db = daemon_conf("trickle", [source("pack1", bus.path, "").replace(
    "timeout = 0.3;", "timeout = 1.0;")])
with open(conf) as f:
    text = f.read().replace('collector = { ', 'collector = { flush_timeout = 2; ')
with open(conf, "w") as f:
    f.write(text)
d = subprocess.Popen([DAEMON, "-c", conf], stderr=subprocess.PIPE, text=True)
deadline = time.monotonic() + 20
while time.monotonic() < deadline and not any(q[1] == 0x1620 for q in bus.requests):
    time.sleep(0.05)
trickling = any(q[1] == 0x1620 for q in bus.requests)
time.sleep(0.5)  # in the middle of a trickled answer
t0 = time.monotonic()
d.terminate()
try:
    err = d.communicate(timeout=30)[1]
except subprocess.TimeoutExpired:
    d.kill()
    err = d.communicate()[1]
took = time.monotonic() - t0
check("trickle: SIGTERM during a trickled answer ends the daemon within flush_timeout + timeout",
      trickling and d.returncode == 0 and took < 3.0, (trickling, took, d.returncode, err[-500:]))
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
      "protocol, baud rate or bus_mode" in r.stderr, r.stderr)
r = check_conf("same", "slave = 1;")
check("--check: two instances on one slave is refused",
      r.returncode == 78 and "pack2: slave: this slave is read by pack1 already" in r.stderr,
      r.stderr)
r = check_conf("mode", 'slave = 2; bus_mode = "listen";')
check("--check: one bus, two bus modes is refused",
      r.returncode == 78 and "pack2: device: /dev/ttyJK-none is used by pack1 with another "
      "protocol, baud rate or bus_mode" in r.stderr, r.stderr)
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
lines = text_of(hexfile).splitlines() if os.path.exists(hexfile) else []
sent = [l for l in lines if l.startswith("# sent: ")]
recv = b"".join(bytes.fromhex(l) for l in lines if l and not l.startswith("#"))
pw = ans.index(b"\xb2" + b"123456") + 1
check("--hex saves the UART exchange as sent and read, the password (0xB2) zeroed",
      sent == ["# sent: " + req.hex(" ")]
      and recv.endswith(ans[:pw] + bytes(10) + ans[pw + 10:])
      and not leaks(recv, r.stdout, r.stderr), lines[:3])
bus.uart_prefix = b""
bus.uart_chunks = [1]
bus.uart_pause = 0.05  # a trickle: 280 bytes in 14 s
t0 = time.monotonic()
r = util(bus, "--serial-protocol", "uart")
took = time.monotonic() - t0
check("uart trickle (issue 25.3): the read ends within its two timeouts, one clear line",
      r.returncode == 1 and "no valid answer in" in r.stderr and "within 500 ms" in r.stderr
      and took < 4.0, (took, r.stderr))
bus.close()
bus = sim.Bus("uart")
bus.uart_answer = b""
r = util(bus, "--serial-protocol", "uart")
check("uart: silence is one line naming the device",
      r.returncode == 1 and r.stderr.count("\n") == 1 and "no answer on %s" % bus.path in r.stderr,
      r.stderr)
bus.close()

print("1..%d" % len(results))
failed = 0
for i, (name, ok, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if not ok:
        failed += 1
        for line in str(detail).splitlines()[:20]:
            print("#   " + line)
subprocess.run(["rm", "-rf", tmp])
sys.exit(1 if failed else 0)
