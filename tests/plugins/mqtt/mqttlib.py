# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for the mqtt sink's tests against a real mosquitto on 127.0.0.1:
free ports, a broker started here, subscribers writing to files, the daemon
with its log in a file, and TAP output."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

TOP_SRC = os.environ["top_srcdir"]
TOP_BUILD = os.environ["top_builddir"]
MOSQUITTO = os.environ.get("MOSQUITTO_BIN") or "/usr/sbin/mosquitto"
DAEMON = os.path.join(TOP_BUILD, "core", "collectord")
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "tools"))
from ports import free_port, port_open  # noqa: E402,F401
from tap import Tap  # noqa: E402
from waiting import wait_for  # noqa: E402,F401  (one wait for every test)
DEMO_HEX = os.path.join(TOP_SRC, "etc", "demo", "jk_pb2a16s15p.hex")


class Run(Tap):
    """One test program: a temp dir, TAP results."""

    def __init__(self, prefix):
        super().__init__()
        self.tmp = tempfile.mkdtemp(prefix=prefix)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def finish(self):
        super().finish(cleanup=[lambda: shutil.rmtree(self.tmp, ignore_errors=True)])


def broker(run, port, extra="", name="broker"):
    """mosquitto on 127.0.0.1:port, logging everything to <name>.log."""
    conf = run.path(name + ".conf")
    with open(conf, "w") as f:
        f.write("listener %d 127.0.0.1\n%s\n" % (port, extra))
        if "allow_anonymous" not in extra:
            f.write("allow_anonymous true\n")
    p = subprocess.Popen([MOSQUITTO, "-c", conf, "-v"], stdout=open(run.path(name + ".log"), "a"),
                         stderr=subprocess.STDOUT)
    if not wait_for(lambda: port_open(port), 10):
        raise RuntimeError("mosquitto did not start")
    return p


def subscribe(run, port, name, topic="#", retained_only=False, durable=False, auth=()):
    out = open(run.path(name), "a")  # line-buffered below: a file is not a tty
    cmd = ["stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-v", "-t", topic]
    cmd += list(auth)
    if durable:
        # a persistent session: the broker queues QoS 1 messages for it while it is away
        cmd += ["-c", "-i", "e2e-durable", "-q", "1"]
    if retained_only:
        cmd.append("--retained-only")
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    return p, run.path(name)


def messages(path):
    msgs = []
    for line in open(path, errors="replace"):
        topic, _, payload = line.rstrip("\n").partition(" ")
        msgs.append((topic, payload))
    return msgs


def start_daemon(run, conf_path, name, *args):
    """collectord on conf_path; its log goes to <name>.log (a pipe nobody
    reads would fill up and block it)."""
    log = open(run.path(name + ".log"), "w")
    return subprocess.Popen([DAEMON, "-c", conf_path] + list(args), stderr=log)


def daemon_log(run, name):
    return open(run.path(name + ".log")).read()
