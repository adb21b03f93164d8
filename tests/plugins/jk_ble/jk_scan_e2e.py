#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""jkbms-util --scan against a simulated kernel management socket
(mgmt_sim.py) over the unix transport: discovery, Busy, the refusals a real
kernel gives, the kernel ending a discovery, Ctrl-C, and the read that
follows a scan going through the kernel to a simulated BMS. TAP."""
import functools
import os
import signal
import subprocess
import sys
import tempfile
import time

TOP_SRC = os.environ["top_srcdir"]
TOP_BUILD = os.environ["top_builddir"]
DATA = os.path.join(TOP_SRC, "tests", "data", "jk")
UTIL = os.path.join(TOP_BUILD, "tools", "jkbms-util", "jkbms-util")
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "tools"))
from tap import Tap  # noqa: E402
from sims import lines, start as start_sim, stop  # noqa: E402

tap = Tap()
# /tmp, not $TMPDIR (the build tree): a unix socket path must fit in 108 bytes
tmp = tempfile.mkdtemp(prefix="jk-scan-", dir="/tmp")

JK_RANDOM = "20:21:11:AA:BB:CC,random,-70,020106,0D094A4B2D423141323053313550"  # JK-B1A20S15P
JK_PUBLIC = "C8:47:8C:12:34:56,public,-60,0201060303E0FF,0C094A4B5F4232413853323050"  # FFE0; JK_B2A8S20P
OTHER = "11:22:33:44:55:66,public,-50,020106,0C09466C6F7765722063617265"  # Flower care
CLASSIC = "66:55:44:33:22:11,bredr,-40,,0409" + "4A4B5F"  # BR/EDR: never an LE device


check = tap.check
start = functools.partial(start_sim, tmp)


def scan(sock, *extra, cwd=None):
    cwd = cwd or tempfile.mkdtemp(dir=tmp)
    r = subprocess.run([UTIL, "--scan", "--seconds", "1", "--transport", "unix:" + sock,
                        "--timeout", "1"] + list(extra),
                       capture_output=True, text=True, timeout=60, cwd=cwd)
    return r, cwd


# A scan that finds two JK devices of four, merges names from scan responses,
# records address types, stops its discovery, and reads the first device
# through the kernel with the type the scan saw.
bms, bms_sock, bms_log = start("bms", "--device-info", os.path.join(DATA, "jk02_32s_v11_device_info.hex"),
                               "--cell-info", os.path.join(DATA, "jk02_32s_v11_cell_info.hex"),
                               "--address-type", "random", prog="jk_sim.py")
k, sock, log = start("found", "--device", JK_RANDOM, "--device", JK_PUBLIC, "--device", OTHER,
                     "--device", CLASSIC, "--peripheral", bms_sock)
r, cwd = scan(sock, "--timeout", "5")
stop(k)
stop(bms)
yaml = open(os.path.join(cwd, "jk_devices.yaml")).read() if os.path.exists(
    os.path.join(cwd, "jk_devices.yaml")) else ""
check("--scan lists the JK devices only, names from their scan responses",
      "Found 2 JK BMS device(s)" in r.stdout and "JK-B1A20S15P" in r.stdout
      and "JK_B2A8S20P" in r.stdout and "Flower" not in r.stdout
      and "66:55:44:33:22:11" not in r.stdout, r.stdout + r.stderr)
check("jk_devices.yaml records each address type",
      "20:21:11:AA:BB:CC:\n  address: 20:21:11:AA:BB:CC\n  address_type: random\n" in yaml
      and "C8:47:8C:12:34:56:\n  address: C8:47:8C:12:34:56\n  address_type: public\n" in yaml,
      yaml)
check("mgmt: controller list, its state, Start Discovery for LE public+random, Stop Discovery at "
      "the end",
      [l for l in lines(log) if not l.startswith("command ")][:5]
      == ["socket opened", "read index list", "read info 0", "start discovery 06",
          "stop discovery 06"], lines(log))
check("the read after the scan connects with the type the scan saw (random, no public guess)",
      r.returncode == 0 and "51.689" in r.stdout
      and [l for l in lines(log) if l.startswith("connect")] == ["connect random 20:21:11:AA:BB:CC"],
      r.stderr + str(lines(log)))

# Found and saved, but no BMS answers the read that follows (the daemon
# holds its one connection, say): exit 0, the devices saved, one line of advice.
k, sock, log = start("nobms", "--device", JK_RANDOM)
r, cwd = scan(sock)
stop(k)
yaml = open(os.path.join(cwd, "jk_devices.yaml")).read() if os.path.exists(
    os.path.join(cwd, "jk_devices.yaml")) else ""
advice = [l for l in r.stderr.splitlines() if l.startswith("jkbms-util:")]
check("no BMS behind the device found: exit 0, jk_devices.yaml saved, one line of advice",
      r.returncode == 0 and "address: 20:21:11:AA:BB:CC" in yaml and len(advice) == 1
      and "one connection at a time" in advice[0], (r.returncode, r.stdout, r.stderr, yaml))

# Busy: someone else discovers; listen to its results, never stop it.
k, sock, log = start("busy", "--start-status", "busy", "--device", JK_PUBLIC)
r, cwd = scan(sock)
stop(k)
check("Busy: says so, lists what the running discovery finds, sends no Stop Discovery",
      "already running" in r.stderr and "C8:47:8C:12:34:56" in r.stdout
      and "stop discovery 06" not in lines(log), r.stdout + r.stderr + str(lines(log)))

# The refusals a real kernel gives: one line, non-zero, never "no devices".
for status, says in (("permission_denied", "CAP_NET_ADMIN"), ("not_powered", "bluetoothctl power on"),
                     ("rfkilled", "rfkill unblock bluetooth"), ("rejected", "btmgmt")):
    k, sock, log = start(status, "--start-status", status, "--device", JK_PUBLIC)
    r, cwd = scan(sock)
    stop(k)
    err = [l for l in r.stderr.splitlines() if l.startswith("jkbms-util:")]
    check("Start Discovery %s: one line saying what to do, exit 1, not \"no devices\"" % status,
          r.returncode == 1 and len(err) == 1 and says in err[0]
          and "No JK BMS" not in r.stdout, r.stdout + r.stderr)

k, sock, log = start("none", "--controllers", "")
r, _ = scan(sock)
stop(k)
check("no controller: says there is no adapter", r.returncode == 1
      and "no Bluetooth adapter" in r.stderr, r.stderr)
k, sock, log = start("hci1", "--controllers", "0", "--device", JK_PUBLIC)
r, _ = scan(sock, "--adapter", "hci1")
stop(k)
check("--adapter hci1 when only hci0 exists: no such adapter, nothing started",
      r.returncode == 1 and "hci1" in r.stderr and "no such Bluetooth adapter" in r.stderr
      and not any(l.startswith("start") for l in lines(log)), r.stderr)
k, sock, log = start("hci2", "--controllers", "0,2", "--device", JK_PUBLIC)
r, _ = scan(sock, "--adapter", "hci2")
stop(k)
check("--adapter hci2 discovers on controller index 2",
      "C8:47:8C:12:34:56" in r.stdout and "start discovery 06" in lines(log), r.stdout + r.stderr)

# sudo --scan in a directory another user owns (played as nobody): a
# jk_devices.yaml link planted there to a root-only list is not followed, so
# nothing of that file is copied into the list written back; one line says so.
can_play = os.geteuid() == 0 and subprocess.run(["runuser", "-u", "nobody", "true"],
                                                capture_output=True).returncode == 0
if can_play:
    os.chmod(tmp, 0o711)
    secret_dir = tempfile.mkdtemp(dir=tmp)  # 0700, root's
    secret = os.path.join(secret_dir, "keys.yaml")
    with open(secret, "w") as f:
        f.write("AA:BB:CC:DD:EE:FF:\n  address: AA:BB:CC:DD:EE:FF\n  name: root-only-key-42\n")
    theirs = tempfile.mkdtemp(dir=tmp)
    os.chmod(theirs, 0o755)
    subprocess.run(["chown", "nobody", theirs], check=True)
    # in theirs as nobody's working directory: nobody may not walk the path
    # down to it (the build tree may sit in a 0700 home)
    subprocess.run(["runuser", "-u", "nobody", "--", "ln", "-s", secret, "jk_devices.yaml"],
                   cwd=theirs, check=True)
    k, sock, log = start("planted", "--device", JK_PUBLIC)
    r, _ = scan(sock, cwd=theirs)
    stop(k)
    written = "".join(open(os.path.join(theirs, f)).read() for f in os.listdir(theirs)
                      if os.path.isfile(os.path.join(theirs, f)) and not os.path.islink(os.path.join(theirs, f)))
    err = [l for l in r.stderr.splitlines() if "jk_devices.yaml" in l]
    check("--scan where another user owns the directory: a planted link is not followed, "
          "nothing of its target is copied, one line says why",
          "root-only-key-42" not in r.stdout + written and len(err) == 1
          and "symbolic link" in err[0] and "not followed" in err[0]
          and "C8:47:8C:12:34:56" in r.stdout, r.stdout + r.stderr + written)
else:
    check("--scan where another user owns the directory # SKIP needs root and runuser", True)

# The kernel ends an LE discovery early (about 10 s on real ones): go on.
k, sock, log = start("ended", "--discovery-ms", "300", "--device", JK_PUBLIC)
r, _ = scan(sock, "--seconds", "2")
stop(k)
starts = sum(1 for l in lines(log) if l == "start discovery 06")
check("a discovery the kernel ends is started again while time is left",
      starts >= 2 and "stop discovery 06" in lines(log), lines(log))

# Ctrl-C and SIGTERM stop the discovery before exiting.
for sig in (signal.SIGINT, signal.SIGTERM):
    k, sock, log = start("sig%d" % sig, "--device", JK_PUBLIC)
    cwd = tempfile.mkdtemp(dir=tmp)
    p = subprocess.Popen([UTIL, "--scan", "--seconds", "30", "--transport", "unix:" + sock],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "start discovery 06" not in lines(log):
        time.sleep(0.05)
    t0 = time.monotonic()
    p.send_signal(sig)
    out, err = p.communicate(timeout=10)
    took = time.monotonic() - t0
    # the simulated kernel logs what it read on its own time (slow under qemu)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "stop discovery 06" not in lines(log):
        time.sleep(0.05)
    stop(k)
    check("%s during a scan: Stop Discovery sent, exit 130 at once" % signal.Signals(sig).name,
          p.returncode == 130 and took < 3 and "stop discovery 06" in lines(log)
          and "interrupted" in err, (p.returncode, took, err, lines(log)))

tap.finish(cleanup=[lambda: subprocess.run(["rm", "-rf", tmp])])
