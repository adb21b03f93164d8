#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""systemd's service protocol, spoken to a NOTIFY_SOCKET of the test's own:
READY=1 once running, RELOADING=1 then READY=1 around a SIGHUP, STOPPING=1
at SIGTERM, and WATCHDOG=1 at about half of WATCHDOG_USEC; an abstract
socket ('@name'); WATCHDOG_PID naming another process turns the watchdog
off, naming the daemon keeps it on (sd_watchdog_enabled(3)). TAP."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOP_SRC = os.environ["top_srcdir"]
TOP_BUILD = os.environ["top_builddir"]
DAEMON = os.path.join(TOP_BUILD, "core", "collectord")
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "tools"))
from tap import Tap  # noqa: E402

tap = Tap()
check = tap.check


def main(tmp):
    path = os.path.join(tmp, "notify")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(path)
    srv.settimeout(0.2)
    conf = os.path.join(tmp, "c.conf")
    with open(conf, "w") as f:
        f.write('collector = { state_dir = "%s"; };\n'
                'sources = ( { plugin = "jk_replay"; file = "%s"; loop = true; interval = 0.5; } );\n'
                % (tmp, os.path.join(TOP_SRC, "etc", "demo", "jk_pb2a16s15p.hex")))
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000")
    log = open(os.path.join(tmp, "log"), "w")
    d = subprocess.Popen([DAEMON, "-c", conf], stderr=log, env=env)
    got = []

    def collect(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                got.append((time.monotonic(), srv.recv(4096).decode()))
            except socket.timeout:
                pass

    try:
        collect(2.2)
        msgs = [m for _, m in got]
        check("READY=1 once running", any(m.startswith("READY=1") for m in msgs), msgs[:3])
        dogs = [t for t, m in got if m == "WATCHDOG=1"]
        check("the watchdog is fed while the daemon is healthy (WATCHDOG_USEC = 1 s)",
              len(dogs) >= 2, dogs)
        got.clear()
        d.send_signal(signal.SIGHUP)
        collect(1.5)
        msgs = [m for _, m in got]
        rel = [i for i, m in enumerate(msgs) if m.startswith("RELOADING=1")]
        check("SIGHUP: RELOADING=1 (with MONOTONIC_USEC), then READY=1",
              rel and "MONOTONIC_USEC=" in msgs[rel[0]] and
              any(m.startswith("READY=1") for m in msgs[rel[0] + 1:]), msgs)
        got.clear()
        d.send_signal(signal.SIGTERM)
        rc = d.wait(timeout=30)
        collect(0.5)
        check("SIGTERM: STOPPING=1 and exit 0",
              rc == 0 and any(m.startswith("STOPPING=1") for _, m in got), (rc, got))
    finally:
        if d.poll() is None:
            d.kill()
            d.wait()
        log.close()
        srv.close()


def wedged(tmp):
    """A source stuck inside poll() for a minute: the watchdog goes hungry,
    so systemd restarts the daemon."""
    path = os.path.join(tmp, "notify2")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(path)
    srv.settimeout(0.2)
    conf = os.path.join(tmp, "w.conf")
    with open(conf, "w") as f:
        f.write('collector = { state_dir = "%s"; };\n'
                'sources = ( { plugin = "t_counter"; name = "stuck"; interval = 1; slow_ms = 60000; } );\n'
                % tmp)
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000",
               COLLECTOR_PLUGIN_PATH=os.path.join(TOP_BUILD, "tests", "abi", "plugins") + ":" +
               os.environ.get("COLLECTOR_PLUGIN_PATH", ""))
    d = subprocess.Popen([DAEMON, "-c", conf], stderr=subprocess.DEVNULL, env=env)
    # Timed from READY=1 (the source's first poll starts then), not from the
    # exec: a loaded machine may take a while to get there. The watchdog is
    # fed every 0.5 s until the poll has been stuck for its 1 s period; after
    # 2.5 s (a second of slack) none may come.
    start, ready, late = time.monotonic(), None, []
    try:
        while time.monotonic() - (ready or start) < 5 and time.monotonic() - start < 60:
            try:
                msg = srv.recv(4096).decode()
            except socket.timeout:
                continue
            if ready is None and "READY=1" in msg.split("\n"):
                ready = time.monotonic()
            elif ready is not None and msg == "WATCHDOG=1" and time.monotonic() - ready > 2.5:
                late.append(time.monotonic() - ready)
        check("a source stuck in poll() longer than the watchdog period: no WATCHDOG=1",
              ready is not None and not late, (ready, late))
    finally:
        d.terminate()
        d.wait(timeout=30)
        srv.close()


def replay_conf(tmp, name):
    conf = os.path.join(tmp, name + ".conf")
    with open(conf, "w") as f:
        f.write('collector = { state_dir = "%s"; };\n'
                'sources = ( { plugin = "jk_replay"; file = "%s"; loop = true; interval = 0.5; } );\n'
                % (tmp, os.path.join(TOP_SRC, "etc", "demo", "jk_pb2a16s15p.hex")))
    return conf


def run_until_ready(srv, argv, env, seconds_after_ready):
    """Start the daemon, collect its datagrams until `seconds_after_ready`
    after READY=1 (at most 60 s in all), stop it; the messages and its exit."""
    d = subprocess.Popen(argv, stderr=subprocess.DEVNULL, env=env)
    msgs, start, ready = [], time.monotonic(), None
    try:
        while time.monotonic() - start < 60 and \
                (ready is None or time.monotonic() - ready < seconds_after_ready):
            try:
                msg = srv.recv(4096).decode()
            except socket.timeout:
                continue
            msgs.append(msg)
            if ready is None and "READY=1" in msg.split("\n"):
                ready = time.monotonic()
        d.send_signal(signal.SIGTERM)
        rc = d.wait(timeout=30)
        end = time.monotonic()
        while time.monotonic() - end < 0.5:
            try:
                msgs.append(srv.recv(4096).decode())
            except socket.timeout:
                pass
    finally:
        if d.poll() is None:
            d.kill()
            d.wait()
    return msgs, rc


def abstract(tmp):
    """NOTIFY_SOCKET=@name: the abstract namespace, no file."""
    name = "collectord-notify-test-%d-%s" % (os.getpid(), os.path.basename(tmp))
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind("\0" + name)
    srv.settimeout(0.2)
    env = dict(os.environ, NOTIFY_SOCKET="@" + name, WATCHDOG_USEC="1000000")
    env.pop("WATCHDOG_PID", None)
    try:
        msgs, rc = run_until_ready(srv, [DAEMON, "-c", replay_conf(tmp, "abstract")], env, 1.6)
    finally:
        srv.close()
    check("abstract socket '@name': READY=1, WATCHDOG=1, STOPPING=1, exit 0",
          rc == 0 and any(m.startswith("READY=1") for m in msgs) and "WATCHDOG=1" in msgs
          and any(m.startswith("STOPPING=1") for m in msgs), (rc, msgs))


def watchdog_pid(tmp):
    """WATCHDOG_PID names the process the watchdog is for: another one's
    means no watchdog here; the daemon's own (sh execs it, so $$ is its
    pid) means it is fed."""
    path = os.path.join(tmp, "notify3")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(path)
    srv.settimeout(0.2)
    conf = replay_conf(tmp, "wpid")
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000")
    try:
        other = subprocess.Popen(["sleep", "60"])
        try:
            env["WATCHDOG_PID"] = str(other.pid)
            msgs, rc = run_until_ready(srv, [DAEMON, "-c", conf], env, 2.0)
        finally:
            other.kill()
            other.wait()
        check("WATCHDOG_PID of another process: READY=1 but no WATCHDOG=1 in 2 s",
              rc == 0 and any(m.startswith("READY=1") for m in msgs) and "WATCHDOG=1" not in msgs,
              (rc, msgs))
        env.pop("WATCHDOG_PID")
        msgs, rc = run_until_ready(
            srv, ["sh", "-c", 'WATCHDOG_PID=$$ exec "$0" -c "$1"', DAEMON, conf], env, 1.6)
        check("WATCHDOG_PID of the daemon itself: WATCHDOG=1",
              rc == 0 and "WATCHDOG=1" in msgs, (rc, msgs))
    finally:
        srv.close()


# /tmp, not $TMPDIR (the build tree, deep under make distcheck): a notify
# socket's path must fit in 108 bytes
tmp = tempfile.mkdtemp(prefix="notify-", dir="/tmp")
tap.run(lambda: main(tmp), lambda: wedged(tmp), lambda: abstract(tmp), lambda: watchdog_pid(tmp),
        cleanup=[lambda: shutil.rmtree(tmp, ignore_errors=True)])
