#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The acceptance of issue 27 on a simulated field bus: two JK-PB slaves
that behave as the field notes say (cold-bus knock-out, 40-register limit,
requests under 50 ms lost, an adapter that echoes), read at once by
collectord (two jk_serial instances) and by two jkbms-util --serial
processes, every second, by the trigger protocol: no failed poll, no lost
request, no collision, no passcode anywhere. --polls N (default 60, 600 for
the ten-minute soak: `make soak-wired`). TAP."""
import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

TOP_SRC = os.environ.get("top_srcdir", ".")
TOP_BUILD = os.environ.get("top_builddir", ".")
DATA = os.path.join(TOP_SRC, "tests", "data", "jk")
UTIL = os.path.join(TOP_BUILD, "tools", "jkbms-util", "jkbms-util")
DAEMON = os.path.join(TOP_BUILD, "core", "collectord")
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "plugins", "jk_serial"))
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "tools"))
import jk_serial_sim as sim  # noqa: E402
from tap import Tap  # noqa: E402


def with_serial(frame, serial):
    f = bytearray(frame)
    f[86:97] = serial.encode().ljust(11, b"\0")
    return sim.with_checksum(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--polls", type=int, default=int(os.environ.get("JK_SERIAL_POLLS", "60")))
    args = ap.parse_args()
    t = Tap()
    tmp = tempfile.mkdtemp(prefix="jk-field-")
    cell = sim.read_hex(os.path.join(DATA, "jk02_32s_v11_cell_info.hex"))
    info = sim.read_hex(os.path.join(DATA, "jk02_32s_v11_device_info.hex"))
    bus = sim.Bus(echo=True, warm_s=3.0)
    bus.add_slave(1, cell, with_serial(info, "1111111111"))
    bus.add_slave(2, cell, with_serial(info, "2222222222"))
    db = os.path.join(tmp, "field.db")
    conf = os.path.join(tmp, "field.conf")
    src = ('{ plugin = "jk_serial"; name = "%s"; device = "%s"; slave = %d; interval = 1;'
           ' timeout = 0.5; }')
    with open(conf, "w") as f:
        f.write('collector = { state_dir = "%s"; };\nsources = ( %s, %s );\n'
                'sinks = ( { plugin = "sqlite_merge"; path = "%s"; mode = "append";'
                ' history = true; batteries = ("pack1", "pack2"); } );\n'
                % (tmp, src % ("pack1", bus.path, 1), src % ("pack2", bus.path, 2), db))
    daemon = subprocess.Popen([DAEMON, "-c", conf], stderr=subprocess.PIPE, text=True)
    utils = [subprocess.Popen([UTIL, "--serial", bus.path, "--slave", str(n), "--timeout", "0.5",
                               "--count", str(args.polls), "--interval", "1", "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in (1, 2)]
    outs = [u.communicate(timeout=30 + 5 * args.polls) for u in utils]
    daemon.terminate()
    err = daemon.communicate(timeout=60)[1]
    bus.close()

    for n, (u, (out, uerr)) in zip((1, 2), zip(utils, outs)):
        recs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        serial = "%d" % n * 10
        t.check("jkbms-util --serial slave %d: %d polls, none failed, each its own pack"
                % (n, args.polls),
                u.returncode == 0 and len(recs) == args.polls and uerr == ""
                and all(r.get("bms_serial") == serial and r.get("battery_voltage") == 51.689
                        for r in recs), (u.returncode, len(recs), uerr[-500:]))
    con = sqlite3.connect(db)
    rows = con.execute("SELECT battery, payload FROM bms_readings").fetchall()
    con.close()
    per = {b: sum(1 for r in rows if r[0] == b) for b in (1, 2)}
    errors = [line for line in err.splitlines() if " - ERROR - " in line or "failed poll" in line]
    t.check("collectord: both packs every second, no failed poll, no error line",
            min(per.values()) >= args.polls * 0.8 and not errors, (per, errors[:5]))
    t.check("the bus: every request heard (none under 50 ms), no collision, triggers only",
            bus.lost == 0 and bus.collisions == 0 and all(q[2] == 0 for q in bus.requests)
            and len(bus.requests) >= 4 * args.polls,
            (bus.lost, bus.collisions, len(bus.requests)))
    leaked = [s for s in (sim.PASSCODE[:5], sim.PASSCODE[:5].hex().encode())
              if any(s in x.encode() for x in [err] + [o for o, _ in outs]
                     + [p for _, p in rows])]
    t.check("no passcode in any output, log or record", not leaked, leaked)
    subprocess.run(["rm", "-rf", tmp])
    t.finish()


if __name__ == "__main__":
    main()
