#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""jkbms-util --serial --set over a pty Modbus bus (jk_switch_sim.SwitchBus on
jk_serial_sim.Bus): the FC 0x10 frames on the wire are exactly those of the
facts sheet (docs/control.md) for slaves 1 and 2, the echo is checked, the
read-back (0x1070.., 0x12C0) confirms; a stubborn pack is not confirmed; the
UART link and a bus driven by a master pack get nothing written. TAP."""
import os
import subprocess
import sys
import tempfile

TOP_SRC = os.environ["top_srcdir"]
TOP_BUILD = os.environ["top_builddir"]
DATA = os.path.join(TOP_SRC, "tests", "data", "jk")
UTIL = os.path.join(TOP_BUILD, "tools", "jkbms-util", "jkbms-util")
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "plugins", "jk_serial"))
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "tools"))
import jk_serial_sim as sim  # noqa: E402
from jk_switch_sim import SwitchBus  # noqa: E402
from tap import Tap  # noqa: E402

CELL = sim.read_hex(os.path.join(DATA, "jk02_32s_v11_cell_info.hex"))
INFO = sim.read_hex(os.path.join(DATA, "jk02_32s_v11_device_info.hex"))
tap = Tap()
check = tap.check

# jk-control.md section 3: slave, switch -> (ON, OFF)
SHEET = {
    (1, "charge"): ("01 10 1070 0002 04 00000001 F88B", "01 10 1070 0002 04 00000000 394B"),
    (1, "discharge"): ("01 10 1074 0002 04 00000001 F978", "01 10 1074 0002 04 00000000 38B8"),
    (1, "balancer"): ("01 10 1078 0002 04 00000001 F92D", "01 10 1078 0002 04 00000000 38ED"),
    (2, "charge"): ("02 10 1070 0002 04 00000001 F7CF", "02 10 1070 0002 04 00000000 360F"),
    (2, "discharge"): ("02 10 1074 0002 04 00000001 F63C", "02 10 1074 0002 04 00000000 37FC"),
    (2, "balancer"): ("02 10 1078 0002 04 00000001 F669", "02 10 1078 0002 04 00000000 37A9"),
}


def hexbytes(text):
    return bytes.fromhex(text.replace(" ", ""))


def util(bus, slave, *extra):
    return subprocess.run([UTIL, "--serial", bus.path, "--slave", str(slave), "--timeout", "0.5",
                           "--bus-mode", "master"] + list(extra),
                          capture_output=True, text=True, timeout=60)


bus = SwitchBus()
for addr in (1, 2):
    bus.add_slave(addr, CELL, INFO)
    bus.add_switches(addr)
try:
    for value in ("off", "on"):
        for slave in (1, 2):
            before = len(bus.switch_writes)
            r = util(bus, slave, "--set", "charge=" + value, "--set", "discharge=" + value,
                     "--set", "balancer=" + value)
            sent = [b for a, b in bus.switch_writes[before:]]
            want = [hexbytes(SHEET[(slave, sw)][0 if value == "on" else 1])
                    for sw in ("charge", "discharge", "balancer")]
            check("slave %d, all %s: the FC 0x10 frames on the wire are the facts sheet's"
                  % (slave, value), sent == want and not bus.rejected,
                  [b.hex() for b in sent] + [str(bus.rejected)])
            check("slave %d, all %s: echo checked, read back, confirmed (exit 0)" % (slave, value),
                  r.returncode == 0 and r.stdout.splitlines() == [
                      "charge %s: confirmed, BMS reports switch %s, MOSFET %s" % (value, value, value),
                      "discharge %s: confirmed, BMS reports switch %s, MOSFET %s" % (value, value, value),
                      "balancer %s: confirmed, BMS reports switch %s" % (value, value)],
                  r.stdout + r.stderr)
    reads = [(a, reg, n) for a, reg, n in bus.requests if reg in (0x1070, 0x1074, 0x1078, 0x12C0)
             and n in (1, 2) and a == 2]
    check("read-back by FC 0x03: the switch register (2 registers) and 0x12C0 (1)",
          (2, 0x1070, 2) in reads and (2, 0x12C0, 1) in reads, reads)

    bus.stubborn.add(1)
    r = util(bus, 1, "--set", "discharge=off")
    check("a stubborn pack: exit 1, not confirmed with what it reports",
          r.returncode == 1 and r.stderr.strip()
          == "jkbms-util: discharge off: not confirmed, BMS reports switch on, MOSFET on",
          r.stderr)
    bus.stubborn.discard(1)

    bus.faults[2] = ["silent"]
    r = util(bus, 2, "--set", "charge=off")
    check("no echo: exit 1, failed", r.returncode == 1 and "charge off: failed" in r.stderr,
          r.stderr)
finally:
    bus.close()

# The UART link: refused, nothing written.
bus = SwitchBus(mode="uart")
try:
    r = subprocess.run([UTIL, "--serial", bus.path, "--serial-protocol", "uart", "--set",
                        "charge=off"], capture_output=True, text=True, timeout=60)
    check("0x4E57 UART: refused as unsupported, nothing written",
          r.returncode == 1 and "charge off: refused" in r.stderr and bus.written == 0, r.stderr)
finally:
    bus.close()

# A master pack drives the bus: one master per bus, we write nothing.
bus = SwitchBus()
bus.add_slave(1, CELL, INFO)
bus.add_switches(1)
bus.start_master([1], cycle=0.5)
try:
    r = subprocess.run([UTIL, "--serial", bus.path, "--slave", "1", "--timeout", "0.5",
                        "--set", "charge=off"], capture_output=True, text=True, timeout=60)
    check("a master pack on the bus: refused, no switch frame written",
          r.returncode == 1 and "charge off: refused" in r.stderr and not bus.switch_writes
          and not bus.rejected, r.stderr)
finally:
    bus.close()

tap.finish(cleanup=[lambda: subprocess.run(["rm", "-rf", tempfile.gettempdir() + "/none"])])
