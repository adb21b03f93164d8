#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""jkbms-util --scan against a simulated kernel (mgmt_sim.py) that behaves as
net/bluetooth/mgmt.c and BlueZ doc/mgmt-protocol.rst say, not as our code
does: several controllers in different states (Read Controller Information),
a discovery the kernel pauses and resumes, malformed AD structures, and
devices whose names merely contain "JK". TAP."""
import functools
import os
import subprocess
import sys
import tempfile

TOP_SRC = os.environ["top_srcdir"]
TOP_BUILD = os.environ["top_builddir"]
UTIL = os.path.join(TOP_BUILD, "tools", "jkbms-util", "jkbms-util")
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "tools"))
from tap import Tap  # noqa: E402
from sims import lines, start as start_sim, stop  # noqa: E402

tap = Tap()
# /tmp, not $TMPDIR (the build tree): a unix socket path must fit in 108 bytes
tmp = tempfile.mkdtemp(prefix="jk-adapters-", dir="/tmp")
check = tap.check
start = functools.partial(start_sim, tmp)


def ad(kind, data):
    """One AD structure: length, type, data."""
    return "%02X%02X" % (len(data) + 1, kind) + data.hex()


FLAGS = ad(0x01, b"\x06")
JK_PUBLIC = "C8:47:8C:12:34:56,public,-60,0201060303E0FF,0C094A4B5F4232413853323050"  # FFE0; JK_B2A8S20P


def scan(sock, *extra, seconds="1"):
    """jkbms-util --scan (it then reads the first device found, which no
    simulated BMS answers here: its exit status says nothing of the scan)."""
    cwd = tempfile.mkdtemp(dir=tmp)
    return subprocess.run([UTIL, "--scan", "--seconds", seconds, "--transport", "unix:" + sock,
                           "--timeout", "1"] + list(extra),
                          capture_output=True, text=True, timeout=60, cwd=cwd)


def jkbms_lines(r):
    return [l for l in r.stderr.splitlines() if l.startswith("jkbms-util:")]


# --- issue 27 point 8: the controller is chosen by its state ---
# A Pi: the built-in hci0 powered off, a USB dongle as hci1.
k, sock, log = start("off-then-le", "--controllers", "0:off,1", "--device", JK_PUBLIC)
r = scan(sock)
stop(k)
check("hci0 powered off, hci1 powered LE: Read Controller Information for each, discovery on hci1",
      "C8:47:8C:12:34:56" in r.stdout
      and "read info 0" in lines(log) and "read info 1" in lines(log)
      and "command 0023 hci1" in lines(log) and "command 0023 hci0" not in lines(log),
      r.stdout + r.stderr + str(lines(log)))

k, sock, log = start("bredr-then-le", "--controllers", "0:bredr,1", "--device", JK_PUBLIC)
r = scan(sock)
stop(k)
check("hci0 BR/EDR only, hci1 LE: discovery on hci1",
      "C8:47:8C:12:34:56" in r.stdout
      and "command 0023 hci1" in lines(log) and "command 0023 hci0" not in lines(log),
      r.stdout + r.stderr + str(lines(log)))

k, sock, log = start("none-fits", "--controllers", "0:off,1:bredr,2:le_off", "--device", JK_PUBLIC)
r = scan(sock)
stop(k)
err = jkbms_lines(r)
check("no controller fits: one line saying each one's state, nothing started",
      r.returncode == 1 and len(err) == 1
      and "hci0 powered off" in err[0] and "hci1 BR/EDR only" in err[0]
      and "hci2 LE switched off" in err[0] and "bluetoothctl power on" in err[0]
      and not any(l.startswith("start") for l in lines(log)), r.stderr + str(lines(log)))

for state, says in (("off", ["powered off", "bluetoothctl power on"]),
                    ("le_off", ["LE switched off", "btmgmt --index 1 le on"])):
    k, sock, log = start("named-" + state, "--controllers", "0,1:" + state, "--device", JK_PUBLIC)
    r = scan(sock, "--adapter", "hci1")
    stop(k)
    err = jkbms_lines(r)
    check("--adapter hci1, %s: one line saying so (%s), nothing started, hci0 not used instead"
          % (says[0], says[1]),
          r.returncode == 1 and len(err) == 1 and "hci1" in err[0]
          and all(w in err[0] for w in says)
          and not any(l.startswith("start") for l in lines(log)), r.stderr + str(lines(log)))

k, sock, log = start("named-le", "--controllers", "0:off,1", "--device", JK_PUBLIC)
r = scan(sock, "--adapter", "hci1")
stop(k)
check("--adapter hci1, powered LE: discovery on hci1",
      "C8:47:8C:12:34:56" in r.stdout and "command 0023 hci1" in lines(log),
      r.stdout + r.stderr)

# --- point 14: Discovering 0 is not the end of a discovery ---
k, sock, log = start("paused", "--pause-ms", "200", "--pause-for", "400", "--device", JK_PUBLIC)
r = scan(sock, seconds="3")  # the pause ends well before the scan
stop(k)
check("a discovery the kernel pauses and resumes stays ours: no second start, stopped at the end",
      "C8:47:8C:12:34:56" in r.stdout and "already running" not in r.stderr
      and "discovery resumed by the kernel" in lines(log)
      and "discovery left running" not in lines(log)
      and lines(log).count("stop discovery 06") == 1, r.stdout + r.stderr + str(lines(log)))

# --- point 14: AD structures ---
MALFORMED = ("20:21:11:00:00:01,random,-65,"
             + FLAGS + ad(0x09, b"JK-B2A24S15P") + "1FFF650B01")  # manufacturer data overrunning
TRUNCATED_NAME = ("20:21:11:00:00:02,random,-66,"
                  + FLAGS + ad(0x09, b"JK_PB2A16S15P") + ad(0x03, b"\xe0\xff")[:-2])
JK_INSIDE = "11:22:33:44:55:01,public,-50," + FLAGS + ad(0x09, b"Ajkit lamp")
HEATING = "11:22:33:44:55:02,public,-51," + FLAGS + ad(0x09, b"MY-JK-PACK")
RENAMED_FFE0 = ("C8:47:8C:00:00:03,public,-52," + FLAGS + ad(0x03, b"\xe0\xff")
                + ad(0x09, b"JKBMS-Heating"))
FFE0_128 = ("C8:47:8C:00:00:04,public,-53," + FLAGS
            + ad(0x07, bytes.fromhex("fb349b5f80000080001000 00e0ff0000".replace(" ", "")))
            + ad(0x09, b"Shed"))
k, sock, log = start("ad", *sum((["--device", d] for d in (MALFORMED, TRUNCATED_NAME, JK_INSIDE,
                                                            HEATING, RENAMED_FFE0, FFE0_128)), []))
r = scan(sock)
stop(k)
check("a malformed AD structure after the name: the device and its name are kept",
      "20:21:11:00:00:01" in r.stdout and "JK-B2A24S15P" in r.stdout, r.stdout + r.stderr)
check("an AD structure cut short after the name: the device and its name are kept",
      "20:21:11:00:00:02" in r.stdout and "JK_PB2A16S15P" in r.stdout, r.stdout + r.stderr)
check("names merely containing \"JK\" are not JK devices",
      "Ajkit" not in r.stdout and "MY-JK-PACK" not in r.stdout, r.stdout)
check("a renamed BMS is found by its FFE0 service (16- or 128-bit UUID)",
      "JKBMS-Heating" in r.stdout and "C8:47:8C:00:00:04" in r.stdout, r.stdout)

tap.finish(cleanup=[lambda: subprocess.run(["rm", "-rf", tmp])])
