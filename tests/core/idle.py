#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Between polls the daemon sleeps (issue 23): with one source at 30 s and
no watchdog, strace -f sees no system call at all from any thread during
10 s of the idle time after the first poll (the main thread waits for a
signal without a timeout; the source thread until its next poll; the
dispatcher until a record comes). With a watchdog of 2 s, it wakes to feed
it, at most every second. TAP; skipped without strace."""
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
STRACE = shutil.which("strace")


def traced_idle(tmp, name, watchdog_usec, window):
    """Run the daemon under strace -f; the trace lines (epoch seconds, text)
    that fall `window` (start, end) seconds after READY=1."""
    path = os.path.join(tmp, name + ".sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(path)
    srv.settimeout(0.2)
    conf = os.path.join(tmp, name + ".conf")
    with open(conf, "w") as f:
        f.write('collector = { state_dir = "%s"; };\n'
                'sources = ( { plugin = "t_counter"; name = "src"; interval = 30; } );\n'
                'sinks = ( { plugin = "t_filesink"; name = "out"; file = "%s/out.txt"; } );\n'
                % (tmp, tmp))
    env = dict(os.environ, NOTIFY_SOCKET=path,
               COLLECTOR_PLUGIN_PATH=os.path.join(TOP_BUILD, "tests", "abi", "plugins") + ":" +
               os.environ.get("COLLECTOR_PLUGIN_PATH", ""))
    env.pop("WATCHDOG_PID", None)
    env.pop("WATCHDOG_USEC", None)
    if watchdog_usec:
        env["WATCHDOG_USEC"] = str(watchdog_usec)
    trace = os.path.join(tmp, name + ".trace")
    d = subprocess.Popen([DAEMON, "-c", conf], stderr=subprocess.DEVNULL, env=env)
    ready = tracer = None
    try:
        start = time.monotonic()
        while ready is None and time.monotonic() - start < 60:
            try:
                if "READY=1" in srv.recv(4096).decode().split("\n"):
                    ready = time.time()
            except socket.timeout:
                pass
        if ready is not None:
            # Attached after READY=1 (every thread: -f); the first poll is
            # made then, the next one is 30 s later.
            tracer = subprocess.Popen([STRACE, "-f", "-ttt", "-o", trace, "-p", str(d.pid)],
                                      stderr=subprocess.DEVNULL)
            while time.time() < ready + window[1] + 0.5:
                time.sleep(0.2)
    finally:
        if tracer is not None:
            tracer.send_signal(signal.SIGINT)  # detaches
            tracer.wait(timeout=30)
        d.send_signal(signal.SIGTERM)
        try:
            d.wait(timeout=30)
        except subprocess.TimeoutExpired:
            d.kill()
            d.wait()
        srv.close()
    if ready is None:
        return None
    lines = []
    with open(trace) as f:
        for line in f:
            parts = line.split(None, 2)
            try:
                t = float(parts[1])
            except (IndexError, ValueError):
                continue
            if ready + window[0] <= t < ready + window[1]:
                lines.append((t - ready, line.rstrip()))
    return lines


def main(tmp):
    if STRACE is None:
        print("1..0 # SKIP strace is not installed")
        sys.exit(0)
    got = traced_idle(tmp, "idle", 0, (3.0, 13.0))
    tap.check("one source at 30 s, no watchdog: no system call in 10 s of idle time",
              got is not None and len(got) == 0, got)
    got = traced_idle(tmp, "dog", 2000000, (3.0, 9.0))
    feeds = [t for t, line in (got or []) if "WATCHDOG=1" in line]
    tap.check("watchdog 2 s: fed every second (5 to 7 times in 6 s), nothing else wakes",
              got is not None and 5 <= len(feeds) <= 7
              and all("WATCHDOG" in line or "rt_sigtimedwait" in line or "socket" in line
                      or "close" in line or "sendto" in line or "resumed" in line
                      or "getpid" in line or "clock_gettime" in line or "getenv" in line
                      for _, line in got), got)


# /tmp, not $TMPDIR (the build tree, deep under make distcheck): the notify
# socket's path must fit in 108 bytes
tmp = tempfile.mkdtemp(prefix="idle-", dir="/tmp")
tap.run(lambda: main(tmp), cleanup=[lambda: shutil.rmtree(tmp, ignore_errors=True)])
