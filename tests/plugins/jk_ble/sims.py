# SPDX-License-Identifier: GPL-2.0-or-later
"""Starting and stopping the simulators (mgmt_sim.py, a kernel's management
socket; jk_sim.py, a JK BMS) for the jk_ble tests, and reading their logs."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def start(tmp, name, *args, prog="mgmt_sim.py"):
    """A simulator on tmp/NAME.sock logging to tmp/NAME.log, once it listens:
    (process, socket path, log path)."""
    sock = os.path.join(tmp, name + ".sock")
    log = os.path.join(tmp, name + ".log")
    p = subprocess.Popen([sys.executable, os.path.join(HERE, prog), "--socket", sock, "--log", log]
                         + list(args), stdout=subprocess.PIPE, text=True)
    p.stdout.readline()  # "ready"
    return p, sock, log


def stop(p):
    if p.poll() is None:
        p.kill()
    p.wait()


def lines(log):
    """The simulator's log, a stripped line each ([] before it exists)."""
    try:
        return [l.strip() for l in open(log)]
    except FileNotFoundError:
        return []
