# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for the mqtt sink's tests against a real mosquitto on 127.0.0.1:
free ports, a broker started here, subscribers writing to files, the daemon
with its log in a file, and TAP output."""
import json
import os
import pwd
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
        self.prefix = prefix
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self._broker_dir = None

    def path(self, name):
        return os.path.join(self.tmp, name)

    def broker_path(self, name):
        """A path for what mosquitto itself opens after it has dropped to its
        own user when started as root (certificates, password and acl files,
        persistence): in a directory under /tmp it can enter, not in the build
        tree, which may sit in a 0700 home (/root). Owned by that user, so
        its persistence file can be written there."""
        if self._broker_dir is None:
            self._broker_dir = tempfile.mkdtemp(prefix=self.prefix, dir="/tmp")
            os.chmod(self._broker_dir, 0o755)
            if os.geteuid() == 0:
                try:
                    pw = pwd.getpwnam("mosquitto")
                    os.chown(self._broker_dir, pw.pw_uid, pw.pw_gid)
                except KeyError:
                    pass
        return os.path.join(self._broker_dir, name)

    def finish(self):
        dirs = [self.tmp] + ([self._broker_dir] if self._broker_dir else [])
        super().finish(cleanup=[lambda: [shutil.rmtree(d, ignore_errors=True) for d in dirs]])


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


def publish(port, topic, payload, retain=False):
    """One message at QoS 1, as a user's mosquitto_pub sends it."""
    cmd = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-t", topic,
           "-m", payload]
    subprocess.run(cmd + (["-r"] if retain else []), check=True)


def command_outcomes(path, prefix, battery):
    """The outcome messages (JSON) of `battery`'s commands a subscriber saw."""
    return [json.loads(p) for t, p in messages(path) if t == "%s/%s/command" % (prefix, battery)]


def start_daemon(run, conf_path, name, *args):
    """collectord on conf_path; its log goes to <name>.log (a pipe nobody
    reads would fill up and block it)."""
    log = open(run.path(name + ".log"), "w")
    return subprocess.Popen([DAEMON, "-c", conf_path] + list(args), stderr=log)


def daemon_log(run, name):
    return open(run.path(name + ".log")).read()
