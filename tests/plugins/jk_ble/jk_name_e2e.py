#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""jk_ble with bms_name and no address: the daemon finds the BMS through the
kernel's management interface (mgmt_sim.py over the unix transport), reads it
at the address and type the discovery saw, keeps that address in its state
file, and discovers again when the address stops answering. --check discovers
nothing; a name nobody advertises and a refused discovery each give one line
that says what happened. Records land in a real inverter.db. TAP."""
import functools
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
DAEMON = os.path.join(TOP_BUILD, "core", "collectord")
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "tools"))
from tap import Tap  # noqa: E402
from sims import lines, start as start_sim, stop  # noqa: E402
from waiting import wait_for  # noqa: E402

tap = Tap()
# /tmp, not $TMPDIR (the build tree): a unix socket path must fit in 108 bytes
tmp = tempfile.mkdtemp(prefix="jk-name-", dir="/tmp")

# "Garage battery": a JK BMS renamed in the JK app; it advertises neither a
# JK- name nor the FFE0 service, so only its name finds it.
GARAGE_ADDR = "20:21:11:AA:BB:CC"
GARAGE = GARAGE_ADDR + ",random,-70,020106,0F09" + b"Garage battery".hex()  # 0F: 1 + 14
OTHER_JK = "C8:47:8C:12:34:56,public,-60,0201060303E0FF,0C094A4B5F4232413853323050"  # JK_B2A8S20P


check = tap.check
start = functools.partial(start_sim, tmp)


def bms():
    return start("bms%d" % time.monotonic_ns(),
                 "--device-info", os.path.join(DATA, "jk02_32s_v11_device_info.hex"),
                 "--cell-info", os.path.join(DATA, "jk02_32s_v11_cell_info.hex"),
                 "--address-type", "random", "--connections", "0", prog="jk_sim.py")


def setup(name, kernel_sock, bms_name="Garage battery", timeout="2", interval="1"):
    """A fresh state dir and inverter.db; a config reading bms_name through
    the simulated kernel."""
    d = tempfile.mkdtemp(dir=tmp, prefix=name + "-")
    os.chmod(d, 0o755)
    db = os.path.join(d, "inverter.db")
    subprocess.run([sys.executable, os.path.join(TOP_SRC, "tests", "tools", "eamoon_poller.py"),
                    db], check=True)
    conf = os.path.join(d, "c.conf")
    with open(conf, "w") as f:
        f.write('collector = { state_dir = "%s"; };\n'
                'sources = ( { plugin = "jk_ble"; name = "garage"; bms_name = "%s";'
                ' transport = "unix:%s"; devices_file = "%s/none.yaml"; timeout = %s;'
                ' interval = %s; } );\n'
                'sinks = ( { plugin = "sqlite_merge"; path = "%s"; history = true; } );\n'
                % (d, bms_name, kernel_sock, d, timeout, interval, db))
    return d, conf, db


def addresses(db):
    con = sqlite3.connect(db)
    try:
        return [json.loads(p).get("bms_address") for (p,) in
                con.execute("SELECT payload FROM bms_readings ORDER BY id")]
    except sqlite3.OperationalError:  # no table before the sink has started
        return []
    finally:
        con.close()


def run(*args):
    return subprocess.run([DAEMON] + list(args), capture_output=True, text=True, timeout=60)


# --check with bms_name: validates, opens no management socket.
k, sock, klog = start("check", "--device", GARAGE)
d, conf, db = setup("check", sock)
r = run("-c", conf, "--check")
time.sleep(0.2)
stop(k)
check("--check with bms_name: exit 0, no discovery (the kernel saw no socket)",
      r.returncode == 0 and "socket opened" not in lines(klog), r.stderr + str(lines(klog)))

# Found by name: a discovery, ended once the name is seen, then a read at the
# random address the kernel reported.
b, bsock, blog = bms()
k, sock, klog = start("found", "--device", OTHER_JK, "--device", GARAGE, "--peripheral", bsock)
d, conf, db = setup("found", sock)
r = run("-c", conf, "--once")
stop(k)
got = addresses(db)
check("--once: the BMS called \"Garage battery\" is read at the address the discovery found",
      r.returncode == 0 and got == [GARAGE_ADDR], r.stderr + str(got))
check("the discovery is LE public+random, stopped before the connect, connect with type random",
      [l for l in lines(klog) if l.startswith(("start", "stop", "connect"))]
      == ["start discovery 06", "stop discovery 06", "connect random " + GARAGE_ADDR],
      lines(klog))
check("the daemon says what it found, once",
      r.stderr.count('"Garage battery" is %s (random address): found by discovery' % GARAGE_ADDR)
      == 1, r.stderr)
state = os.path.join(d, "garage.found")
saved = open(state).read() if os.path.exists(state) else ""
check("the address is kept in the instance's state file",
      saved == GARAGE_ADDR + " random Garage battery\n", saved)

# The next start reads the state file: no discovery at all.
k, sock2, klog = start("again", "--device", GARAGE, "--peripheral", bsock)
with open(conf) as f:
    text = f.read().replace(sock, sock2)
with open(conf, "w") as f:
    f.write(text)
r = run("-c", conf, "--once")
stop(k)
check("a second start uses the address kept: no Start Discovery, the BMS read",
      r.returncode == 0 and addresses(db) == [GARAGE_ADDR, GARAGE_ADDR]
      and not any(l.startswith("start") for l in lines(klog)), r.stderr + str(lines(klog)))

# The BMS was replaced (same name, another address): the kept address never
# answers; after 3 failed polls the daemon discovers again and reads the new one.
k, sock3, klog = start("moved", "--device", GARAGE, "--peripheral", bsock)
d, conf, db = setup("moved", sock3, timeout="0.5", interval="0.5")
with open(os.path.join(d, "garage.found"), "w") as f:
    f.write("20:21:11:00:00:01 random Garage battery\n")
log = open(os.path.join(d, "daemon.log"), "w+")
p = subprocess.Popen([DAEMON, "-c", conf], stderr=log)
try:
    moved = wait_for(lambda: GARAGE_ADDR in addresses(db), 40)
finally:
    p.terminate()
    p.wait(timeout=30)
log.seek(0)
text = log.read()
check("a kept address that stops answering is dropped after 3 failed polls, found again",
      moved and text.count("3 polls in a row failed at 20:21:11:00:00:01: discovering it again")
      == 1 and "start discovery 06" in lines(klog)
      and open(os.path.join(d, "garage.found")).read() == GARAGE_ADDR + " random Garage battery\n",
      text[-1500:] + str(lines(klog)))
stop(b)

# Nobody advertises the name: one line naming it and what was seen, no connect.
k, sock, klog = start("absent", "--device", OTHER_JK)
d, conf, db = setup("absent", sock, bms_name="Shed", timeout="1")
r = run("-c", conf, "--once")
stop(k)
said = [l for l in r.stderr.splitlines() if '"Shed"' in l]
check("a name nobody advertises: one line with the name and the JK devices seen, exit 1",
      r.returncode == 1 and len(said) == 1
      and 'no device of that name answered a 1 s discovery (JK devices seen: "JK_B2A8S20P")'
      in said[0] and not any(l.startswith("connect") for l in lines(klog)),
      r.stderr + str(lines(klog)))

# The kernel refuses the discovery (no CAP_NET_ADMIN): said as such.
k, sock, klog = start("eperm", "--start-status", "permission_denied", "--device", GARAGE)
d, conf, db = setup("eperm", sock)
r = run("-c", conf, "--once")
stop(k)
said = [l for l in r.stderr.splitlines() if "Garage battery" in l]
check("a refused discovery: one line naming the name and CAP_NET_ADMIN, exit 1",
      r.returncode == 1 and len(said) == 1 and "discovery failed" in said[0]
      and "CAP_NET_ADMIN" in said[0], r.stderr)

# Listed in devices_file (jkbms-util --scan wrote it): no discovery needed.
b, bsock, blog = bms()
k, sock, klog = start("listed", "--device", GARAGE, "--peripheral", bsock)
d, conf, db = setup("listed", sock)
with open(os.path.join(d, "none.yaml"), "w") as f:
    f.write("%s:\n  address: %s\n  address_type: random\n  last_seen: '2026-12-01 10:00:00'\n"
            "  name: Garage battery\n" % (GARAGE_ADDR, GARAGE_ADDR))
r = run("-c", conf, "--once")
stop(k)
stop(b)
check("a name listed in devices_file: read at its address and type, no discovery",
      r.returncode == 0 and addresses(db) == [GARAGE_ADDR]
      and not any(l.startswith("start") for l in lines(klog)), r.stderr + str(lines(klog)))

tap.finish(cleanup=[lambda: subprocess.run(["rm", "-rf", tmp])])
