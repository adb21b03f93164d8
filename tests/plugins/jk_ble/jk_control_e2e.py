#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""jkbms-util --set against the simulated JK BMS (jk_sim.py), whose write path
checks every frame byte for byte: confirmed switches, a stubborn BMS (acks,
keeps the old state), a BMS that never acks, a JK04 (balancer only), the
fw 15.41 "AT\\r\\n" in the ack's notification, --json, and the simulator
itself refusing a frame with a wrong checksum. TAP."""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

TOP_SRC = os.environ["top_srcdir"]
TOP_BUILD = os.environ["top_builddir"]
DATA = os.path.join(TOP_SRC, "tests", "data", "jk")
SIM = os.path.join(TOP_SRC, "tests", "plugins", "jk_ble", "jk_sim.py")
UTIL = os.path.join(TOP_BUILD, "tools", "jkbms-util", "jkbms-util")
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "tools"))
from tap import Tap  # noqa: E402
from sims import lines, stop  # noqa: E402

FILES = {
    "JK02_32S": ("jk02_32s_v11_device_info.hex", "jk02_32s_v11_cell_info.hex"),
    "JK02_24S": ("jk02_24s_v10_device_info.hex", "jk02_24s_v10_cell_info.hex"),
    "JK04": ("jk04_device_info.hex", "jk04_cell_info.hex"),
}
tap = Tap()
check = tap.check
# /tmp, not $TMPDIR (the build tree): a unix socket path must fit in 108 bytes
tmp = tempfile.mkdtemp(prefix="jk-ctl-", dir="/tmp")


def sim(variant, *extra, name="sim"):
    sock = os.path.join(tmp, name + ".sock")
    log = os.path.join(tmp, name + ".log")
    di, ci = FILES[variant]
    p = subprocess.Popen([sys.executable, SIM, "--socket", sock, "--log", log,
                          "--device-info", os.path.join(DATA, di),
                          "--cell-info", os.path.join(DATA, ci), "--protocol", variant,
                          "--connections", "0"] + list(extra),
                         stdout=subprocess.PIPE, text=True)
    p.stdout.readline()  # "ready": the socket is listening
    return p, sock, log


def util(sock, *extra):
    return subprocess.run([UTIL, "--address", "C8:47:8C:00:00:01", "--address-type", "public",
                           "--transport", "unix:" + sock, "--timeout", "8"] + list(extra),
                          capture_output=True, text=True, timeout=90)


def parse(text):
    """The JSON object jkbms-util printed, or {}."""
    try:
        return json.loads(text)
    except ValueError:
        return {}


def writes(log):
    return [l for l in lines(log) if l.startswith("write ") or l.startswith("rejected ")]


# --- confirmed: the frame reaches the BMS exactly, the read-back agrees ---
p, sock, log = sim("JK02_32S")
r = util(sock, "--set", "charge=off")
check("--set charge=off confirms: exit 0, the state read back on stdout",
      r.returncode == 0 and r.stdout == "charge off: confirmed, BMS reports switch off, MOSFET off\n"
      and r.stderr == "", r.stdout + r.stderr)
check("the BMS took the frame byte for byte (sum8, length, register) and nothing else",
      writes(log) == ["write charge off"], lines(log))
check("read back: a settings request after the write",
      lines(log).count("command 96") == 2, lines(log))
r = util(sock, "--json", "--set", "charge=on", "--set", "balancer=off")
out = parse(r.stdout)
check("--json: every command with its outcome and the state the BMS reports",
      r.returncode == 0 and out.get("confirmed") is True
      and [(c["switch"], c["requested"], c["outcome"], c["switch_state"], c.get("mosfet"))
           for c in out.get("commands", [])]
      == [("charge", "on", "confirmed", "on", "on"), ("balancer", "off", "confirmed", "off", None)],
      r.stdout + r.stderr)
check("two switches, one connection", lines(log).count("connection 2") == 1
      and lines(log).count("connection 3") == 0 and writes(log)[1:] == [
          "write charge on", "write balancer off"], lines(log))
stop(p)

# --- a stubborn BMS: acknowledges, keeps the old state ---
p, sock, log = sim("JK02_32S", "--stubborn", name="stubborn")
r = util(sock, "--set", "charge=off", "--set", "balancer=off")
stop(p)
check("a BMS that acks and keeps its state: exit 1, \"not confirmed\" with what it reports",
      r.returncode == 1 and r.stdout == ""
      and r.stderr.splitlines() == [
          "jkbms-util: charge off: not confirmed, BMS reports switch on, MOSFET on",
          "jkbms-util: balancer off: not confirmed, BMS reports switch on"], r.stderr)

# --- no acknowledgement: failed, the state unknown ---
p, sock, log = sim("JK02_32S", "--no-ack", name="noack")
r = util(sock, "--set", "discharge=off", "--timeout", "5")
stop(p)
check("no acknowledgement: exit 1, failed, state unknown",
      r.returncode == 1 and "discharge off: failed" in r.stderr
      and "no acknowledgement: state unknown" in r.stderr, r.stderr)

# --- JK02_24S on the two-FFE1 module, 20-byte notifications (the ack split) ---
p, sock, log = sim("JK02_24S", "--layout", "new", "--split", "20", "--server-mtu", "23",
                   name="24s")
r = util(sock, "--set", "discharge=on", "--set", "charge=off")
stop(p)
check("JK02_24S (MOSFETs at 166/167), write-only FFE1, MTU 23: both confirmed",
      r.returncode == 0 and r.stdout.splitlines() == [
          "discharge on: confirmed, BMS reports switch on, MOSFET on",
          "charge off: confirmed, BMS reports switch off, MOSFET off"]
      and writes(log) == ["write discharge on", "write charge off"], r.stdout + r.stderr)

# --- JK04: the balancer only; the others refused with nothing sent ---
p, sock, log = sim("JK04", "--layout", "jk04", name="jk04")
r = util(sock, "--protocol", "JK04", "--set", "charge=off", "--set", "balancer=off")
stop(p)
check("JK04: charge refused (nothing sent), balancer 0x6C confirmed, exit 1",
      r.returncode == 1 and "balancer off: confirmed, BMS reports switch off" in r.stdout
      and "charge off: refused" in r.stderr and "no charge switch" in r.stderr
      and writes(log) == ["write balancer off"], r.stdout + r.stderr + str(lines(log)))

# --- a change the BMS makes by itself (the phone app, a protection) shows ---
p, sock, log = sim("JK02_32S", "--spontaneous", "discharge=off@0", name="spont")
r = util(sock, "--json")
stop(p)
rec = parse(r.stdout)
check("--spontaneous: the BMS switches discharge off by itself, the MOSFET reads off",
      r.returncode == 0 and rec.get("discharging_enabled") is False
      and rec.get("charging_enabled") is True and "spontaneous discharge off" in lines(log),
      r.stdout[:300] + r.stderr)

# --- the command line ---
r = subprocess.run([UTIL, "--address", "C8:47:8C:00:00:01", "--set", "heating=on"],
                   capture_output=True, text=True)
check("an unknown switch is a usage error (exit 2), nothing connects",
      r.returncode == 2 and "--set heating=on" in r.stderr, r.stderr)

# --- the simulator's own check: a frame with a wrong checksum is ignored ---
p, sock, log = sim("JK02_32S", name="raw")
c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
c.connect(sock)
c.send(b"\x00\x01" + b"C8:47:8C:00:00:01")
c.recv(16)  # connected
frame = bytearray.fromhex("aa5590eb1d0400000000000000000000000000" "9b")
frame[19] ^= 0x01
c.send(b"\x52" + struct.pack("<H", 0x0012) + bytes(frame))
c.settimeout(0.5)
got = b""
try:
    got = c.recv(64)
except socket.timeout:
    pass
c.close()
time.sleep(0.2)
stop(p)
check("the simulated BMS refuses a frame with a wrong sum8: logged, no ack, no change",
      got == b"" and any(l.startswith("rejected aa5590eb1d04") and "bad checksum 9a, want 9b" in l
                         for l in lines(log)), lines(log))

tap.finish(cleanup=[lambda: subprocess.run(["rm", "-rf", tmp])])
