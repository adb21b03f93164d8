#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""jkbms-util --address against a simulated JK BMS (jk_sim.py) that behaves
as the kernel (net/bluetooth/lib.c bt_to_errno, hci_conn.c hci_connect_le)
and real GATT servers do, not as our code does: a connect refused for
authentication (a stale bond), the second "auto" attempt meeting the first
one's teardown (EBUSY), a module that refuses Find By Type Value, and an
FFE1 without write-without-response. TAP."""
import json
import os
import subprocess
import sys
import tempfile

TOP_SRC = os.environ["top_srcdir"]
TOP_BUILD = os.environ["top_builddir"]
DATA = os.path.join(TOP_SRC, "tests", "data", "jk")
UTIL = os.path.join(TOP_BUILD, "tools", "jkbms-util", "jkbms-util")
ADDR = "C8:47:8C:00:00:01"
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "tools"))
from tap import Tap  # noqa: E402
from sims import lines, start as start_sim, stop  # noqa: E402

tap = Tap()
# /tmp, not $TMPDIR (the build tree): a unix socket path must fit in 108 bytes
tmp = tempfile.mkdtemp(prefix="jk-link-", dir="/tmp")
check = tap.check


def bms(name, *extra):
    return start_sim(tmp, name, "--device-info", os.path.join(DATA, "jk02_32s_v11_device_info.hex"),
                     "--cell-info", os.path.join(DATA, "jk02_32s_v11_cell_info.hex"), *extra,
                     prog="jk_sim.py")


def util(sock, *extra):
    return subprocess.run([UTIL, "--address", ADDR, "--transport", "unix:" + sock, "--json"]
                          + list(extra), capture_output=True, text=True, timeout=60,
                          cwd=tempfile.mkdtemp(dir=tmp))


def voltage(r):
    try:
        return json.loads(r.stdout).get("battery_voltage")
    except ValueError:
        return None


# --- issue 27 point 10: EACCES / EBADE on a connect is a bond problem ---
for code, hci in (("EACCES", "0x05"), ("EBADE", "0x06")):
    p, sock, log = bms("bond-" + code, "--connect-error", code)
    r = util(sock, "--address-type", "public", "--timeout", "3")
    stop(p)
    check("connect fails with %s (HCI %s): a stale bond, `bluetoothctl remove ADDR`, not "
          "CAP_NET_ADMIN" % (code, hci),
          r.returncode == 1 and r.stderr.count("\n") == 1
          and "bluetoothctl remove " + ADDR in r.stderr and "CAP_NET_ADMIN" not in r.stderr,
          r.stderr)

# --- point 11: auto, the second attempt meets the first one's teardown ---
# connection 1 (public) is never answered; connection 2 (random) gets EBUSY
# as hci_connect_le gives while the first attempt is still being torn down;
# connection 3 (random again, after a pause) connects.
p, sock, log = bms("auto-busy", "--address-type", "random", "--connect-error", "EBUSY",
                   "--faulty", "2", "--connections", "3")
r = util(sock, "--timeout", "6")
stop(p)
check("auto: EBUSY on the random attempt after the public one is retried after a pause",
      r.returncode == 0 and voltage(r) == 51.689
      and [l.split()[1] for l in lines(log) if l.startswith("connect ")]
      == ["public", "random", "random"], r.stderr + str(lines(log)))
p, sock, log = bms("fixed-busy", "--connect-error", "EBUSY", "--connections", "3")
r = util(sock, "--address-type", "public", "--timeout", "3")
stop(p)
check("EBUSY on a single attempt (someone holds the link): not retried, bluetoothd named",
      r.returncode == 1 and "bluetoothctl disconnect" in r.stderr
      and [l for l in lines(log) if l.startswith("connect ")] == ["connect public " + ADDR],
      r.stderr + str(lines(log)))

# --- point 12: Read By Group Type when Find By Type Value is not supported ---
for layout in ("old", "new"):
    p, sock, log = bms("no-fbtv-" + layout, "--layout", layout, "--no-find-by-type")
    r = util(sock, "--timeout", "5", "--address-type", "public")
    stop(p)
    check("%s layout, Find By Type Value refused: the services are read by group type" % layout,
          r.returncode == 0 and voltage(r) == 51.689 and "request 10" in lines(log), r.stderr)

# --- point 13: Write Request when FFE1 lacks write-without-response ---
for layout in ("old", "new"):
    p, sock, log = bms("no-wnr-" + layout, "--layout", layout, "--no-write-nr")
    r = util(sock, "--timeout", "5", "--address-type", "public")
    stop(p)
    check("%s layout, FFE1 without write-without-response: commands as Write Requests" % layout,
          r.returncode == 0 and voltage(r) == 51.689
          and not any(l.startswith("write command dropped") for l in lines(log))
          and "command 96" in lines(log), r.stderr + str(lines(log)))
p, sock, log = bms("wnr", "--layout", "new")
r = util(sock, "--timeout", "5", "--address-type", "public")
stop(p)
check("FFE1 with write-without-response: commands as Write Commands (as the JK app sends them)",
      r.returncode == 0 and lines(log).count("request 52") == 2
      and lines(log).count("request 12") == 1, r.stderr + str(lines(log)))

tap.finish(cleanup=[lambda: subprocess.run(["rm", "-rf", tmp])])
