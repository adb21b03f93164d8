#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The influxdb sink against a real InfluxDB (Debian's influxdb 1.6, influxd
started here on free 127.0.0.1 ports with its own temp dirs): a replayed
capture's own values come back from an InfluxQL query; a server stopped
and restarted mid-run loses no point; a wrong database is one clear error;
every query of the Grafana dashboard returns data. TAP."""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from influx_fixtures import (DAEMON, TOP_SRC, Daemon, FakeServer, Influxd, Tap,  # noqa: E402
                             capture_records, make_tmp, parse_line, wait_for)

tap = Tap()
tmp, cleanup = make_tmp("influxdb-e2e-")
db = Influxd(tmp)
db.start()
db.query("CREATE DATABASE collectord", post=True)
DB = "collectord"

# 1. one pass over the capture: its two cell-info records, as points
expected = capture_records()
d = Daemon(tmp, "replay", ['url = "%s"; database = "%s"; batch_size = 1; flush_interval = 0.1;'
                           ' tags = [ "site=e2e test, 1" ]; fields = [ "protocol" ];' % (db.url, DB)])
d.start()
ok = wait_for(lambda: len(db.rows('SELECT * FROM "battery"', DB)) >= len(expected), 30)
rc = d.stop()
rows = db.rows('SELECT * FROM "battery" ORDER BY time', DB)
tap.check("a replay run writes one point per record of the capture",
          ok and rc == 0 and len(rows) == len(expected) == 2, (len(rows), len(expected), d.log()))


def same(a, b):
    return a is not None and b is not None and abs(a - b) < 1e-9


good = len(rows) == len(expected)
detail = []
for row, rec in zip(rows, expected):
    cells = rec["cells"]
    for key in ("battery_voltage", "battery_current"):
        if not same(row.get(key), rec[key]):
            good = False
            detail.append("%s: %r != %r" % (key, row.get(key), rec[key]))
    for i, v in enumerate(cells, 1):
        if not same(row.get("cell_%02d" % i), v):
            good = False
            detail.append("cell_%02d: %r != %r" % (i, row.get("cell_%02d" % i), v))
    # the 13-cell record has no cell_14 (the 24-cell one's columns are null there)
    if row.get("cell_%02d" % (len(cells) + 1)) is not None:
        good = False
        detail.append("cell_%02d present in a %d-cell record" % (len(cells) + 1, len(cells)))
tap.check("InfluxQL returns the capture's own voltage, current and every cell", good, detail)
r0 = rows[0] if rows else {}
tap.check("tags battery, address, model and the extra tag; ints, booleans, the asked string",
          r0.get("battery") == "battery1" and r0.get("address") == "C8:47:8C:00:00:01"
          and r0.get("model") == expected[0].get("bms_model") and r0.get("site") == "e2e test, 1"
          and r0.get("bms_soc") == expected[0]["bms_soc"] and r0.get("balancing") is False
          and r0.get("protocol") == expected[0]["protocol"] and "errors" not in r0
          and same(r0.get("temperature_01"), expected[0]["temperatures"][0]), r0)

# 2. the server goes away mid-run and comes back: no point is lost. A second
# sink writes the same records to a listener of our own that stays up; it
# sees every point the daemon made.
witness = FakeServer()
db.query("CREATE DATABASE outage", post=True)
d = Daemon(tmp, "outage", [
    'name = "influx"; url = "%s"; database = "outage"; batch_size = 5; flush_interval = 0.3;'
    ' timeout = 2;' % db.url,
    'name = "witness"; url = "%s"; database = "w"; batch_size = 5; flush_interval = 0.3;'
    % witness.url], loop=True)
d.start()
wait_for(lambda: len(db.rows('SELECT battery_voltage FROM "battery"', "outage")) >= 5, 30)
db.stop()
time.sleep(3.0)  # about 15 records made with no server to take them
db.start()
wait_for(lambda: len(db.rows('SELECT battery_voltage FROM "battery"', "outage")) >= 25, 30)
rc = d.stop()
witness.close()
made = sorted({parse_line(line)[3] for r in witness.taken() for line in r["body"].splitlines()})
stored = sorted(r["time"] for r in db.rows('SELECT battery_voltage FROM "battery"', "outage"))
log = d.log()
tap.check("a stopped server then restarted loses no point",
          rc == 0 and len(made) >= 25 and stored == made,
          "%d made, %d stored, missing %s\n%s" % (len(made), len(stored),
                                                 sorted(set(made) - set(stored))[:5], log[-800:]))
tap.check("the outage is one warning and one 'written again' line",
          len(re.findall(r"cannot write yet", log)) == 1 and "written again after" in log, log[-800:])

# 3. a wrong database: one clear error naming the server's message
d = Daemon(tmp, "wrongdb", ['url = "%s"; database = "nope"; batch_size = 2; flush_interval = 0.1;'
                            % db.url], loop=True)
d.start()
time.sleep(2.5)
rc = d.stop()
log = d.log()
errors = [line for line in log.splitlines() if "ERROR" in line]
m = re.findall(r"influxdb - \w+ - (\d+) record\(s\) received: (\d+) written, (\d+) dropped "
               r"\((.*)\)", log)
got = [int(x) for x in m[0][:3]] if len(m) == 1 else [0, 0, 0]
refused = re.search(r"(\d+) refused by the server", m[0][3]) if len(m) == 1 else None
tap.check("a wrong database is one clear error with the server's message, points dropped",
          rc == 0 and len(errors) == 1 and 'database not found: "nope"' in errors[0]
          and "HTTP 404" in errors[0] and refused is not None and int(refused.group(1)) > 2
          and "cannot write yet" not in log, log[-800:])
tap.check("the server refusing: one line of totals, received = written + dropped, the "
          "refused ones counted as dropped, not written",
          len(m) == 1 and got[0] == got[1] + got[2] and got[1] == 0 and got[2] >= int(refused.group(1))
          and "point(s) in all" not in log and "never took" not in log, log[-800:])

# 3b. --once against that database: the run did not deliver, so it says
# which sink and exits non-zero (it exited 0 with every point refused)
d = Daemon(tmp, "wrongdb_once", ['name = "influx_nope"; url = "%s"; database = "nope"; '
                                 'batch_size = 1; flush_interval = 0.1;' % db.url])
r = subprocess.run([DAEMON, "-c", d.conf, "--once"], stderr=subprocess.PIPE, text=True,
                   timeout=120)
tap.check("--once with no such database: exit non-zero, one line naming the sink",
          r.returncode != 0 and "not delivered by sink(s): influx_nope" in r.stderr
          and 'database not found: "nope"' in r.stderr, (r.returncode, r.stderr[-800:]))

# 4. every query of the Grafana dashboard, $variables filled in, returns data
dash = json.load(open(os.path.join(TOP_SRC, "etc", "grafana", "collectord.json")))
queries = [t["query"] for p in dash["panels"] for t in p.get("targets", [])]
queries += [v["query"] for v in dash["templating"]["list"] if v["type"] == "query"]
names = {v["name"] for v in dash["templating"]["list"]}
subst = {"$timeFilter": "time > now() - 1h", "$__interval": "10s", "$measurement": "battery",
         "$battery": "battery1"}
empty = []
for q in queries:
    text = q
    for k, v in subst.items():
        text = text.replace(k, v)
    if re.search(r"\$[A-Za-z_{]", text):  # a variable left (a regex's $ is fine)
        empty.append("unsubstituted: " + text)
        continue
    res = db.query(text, DB)["results"][0]
    values = [v for s in res.get("series", []) for row in s["values"] for v in row[1:]
              if v is not None]
    if "error" in res or not values:
        empty.append("%s -> %s" % (text, res))
tap.check("the dashboard has a datasource variable and every panel uses it",
          "datasource" in names
          and all(p["datasource"]["uid"] == "${datasource}" for p in dash["panels"]), names)
tap.check("every query of the Grafana dashboard runs and returns data (%d queries)" % len(queries),
          len(queries) >= 10 and not empty, "\n".join(empty))

db.stop()
tap.finish([cleanup])
