#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The freshness rule in the daemon: a test calculator (t_fresh) asks the
host about each record of a replayed battery, with its interval configured
and with collector.interval as its interval. The daemon's answer for the
source is its newest record's own instant: its time + 3 x the interval. TAP."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

TOP_SRC = os.environ["top_srcdir"]
TOP_BUILD = os.environ["top_builddir"]
DAEMON = os.path.join(TOP_BUILD, "core", "collectord")
DEMO = os.path.join(TOP_SRC, "etc", "demo", "jk_pb2a16s15p.hex")
PLUGINS = os.path.join(TOP_BUILD, "tests", "plugins", "freshness", "plugins")
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "tools"))
from tap import Tap  # noqa: E402

LINE = re.compile(r"fresh: (\w+) time (-?\d+) source_rc (-?\d+) source_until (-?\d+) "
                  r"record_until (-?\d+) unknown_rc (-?\d+)")
tmp = tempfile.mkdtemp(prefix="fresh-e2e-", dir=os.environ.get("TMPDIR"))
tap = Tap()


def once(name, interval, collector_interval):
    conf = os.path.join(tmp, name + ".conf")
    with open(conf, "w") as f:
        f.write('collector = { state_dir = "%s"; plugin_dir = "%s"; interval = %s; };\n'
                'sources = ( { plugin = "jk_replay"; name = "%s"; file = "%s"; %s } );\n'
                'calculators = ( { plugin = "t_fresh"; } );\n'
                % (tmp, PLUGINS, collector_interval, name, DEMO,
                   "interval = %s;" % interval if interval else ""))
    r = subprocess.run([DAEMON, "-c", conf, "--once"], capture_output=True, text=True,
                       timeout=120)
    return r, [m.groups() for m in map(LINE.search, r.stderr.splitlines()) if m]


def main():
    for name, interval, collector, span_s in (("configured", "2", "40", 6),
                                              ("defaulted", None, "7", 21)):
        r, seen = once(name, interval, collector)
        ok = r.returncode == 0 and len(seen) > 0
        tap.check("%s: --once runs and the calculator sees the record" % name, ok, r.stderr)
        if not ok:
            continue
        source, t, rc, until, rec_until, unknown = seen[0]
        tap.check("%s: source_fresh_until_ns answers for %s: its newest record's instant, "
                  "time + 3 x %d s" % (name, source, span_s // 3),
                  source == name and int(rc) == 0 and int(until) == int(rec_until)
                  and int(until) - int(t) == span_s * 10**9, seen[0])
        tap.check("%s: a producer that does not exist is -ENOENT" % name,
                  int(unknown) == -2, seen[0])


tap.run(main, cleanup=[lambda: shutil.rmtree(tmp, ignore_errors=True)])
