#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The influxdb sink's HTTP side, against a listener of this test's own on a
free 127.0.0.1 port: the exact 2.x and 1.x requests (path, query, headers),
5xx / 429 / timeouts retried with nothing lost, a 4xx dropped with one
clear error, secrets never in a log, settings errors on one line, and TLS
with a CA file made here (openssl). TAP."""
import base64
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from influx_fixtures import (DAEMON, Daemon, FakeServer, Tap, capture_records, make_tmp,  # noqa: E402
                             parse_line, wait_for)

TOKEN = "s3cr3t-token-0123"
PASSWORD = "pa55-w0rd-xyz"
tap = Tap()
tmp, cleanup = make_tmp("influxdb-http-")
with open(os.path.join(tmp, "token"), "w") as f:
    f.write(TOKEN + "\n")
expected = capture_records()


def points(reqs):
    return [parse_line(line) for r in reqs for line in r["body"].splitlines()]


# 1. the 2.x write API, exactly; batch_size alone sends the request (a
# flush_interval as short as the record interval split it in two on a slow machine)
srv = FakeServer()
d = Daemon(tmp, "v2", ['url = "%s/"; org = "my org"; bucket = "bms/1"; token_file = "%s/token";'
                       ' precision = "s"; batch_size = 2; flush_interval = 30;' % (srv.url, tmp)])
d.start()
ok = wait_for(lambda: len(points(srv.taken())) >= 2, 20)
rc = d.stop()
reqs = srv.taken()
r = reqs[0] if reqs else {"headers": {}}
tap.check("2.x: POST /api/v2/write?org=my%20org&bucket=bms%2F1&precision=s",
          ok and r.get("method") == "POST" and r.get("path") == "/api/v2/write"
          and r.get("raw_query") == "org=my%20org&bucket=bms%2F1&precision=s", r)
tap.check("2.x: Authorization: Token <token from token_file>, text/plain, our User-Agent",
          r["headers"].get("Authorization") == "Token " + TOKEN
          and r["headers"].get("Content-Type") == "text/plain; charset=utf-8"
          and r["headers"].get("User-Agent", "").startswith("collectord/"), r["headers"])
pts = points(reqs)
p0 = pts[0] if pts else ("", {}, {}, 0)
tap.check("2.x: one point per record, two per request, second precision, cells as cell_NN",
          rc == 0 and len(pts) == 2 and len(reqs) == 1 and p0[0] == "battery"
          and p0[1] == {"battery": "battery1", "address": "C8:47:8C:00:00:01",
                        "model": expected[0]["bms_model"]}
          and abs(p0[3] - time.time()) < 60
          and [p0[2].get("cell_%02d" % i) for i in range(1, len(expected[0]["cells"]) + 1)]
          == expected[0]["cells"] and "cell_%02d" % (len(expected[0]["cells"]) + 1) not in p0[2]
          and p0[2].get("bms_cell_count") == len(expected[0]["cells"])
          and p0[2].get("charging_enabled") is True and "protocol" not in p0[2], (reqs, d.log()))
srv.close()

# a --once run: the host flushes the sink until its point is delivered
srv = FakeServer()
d = Daemon(tmp, "once", ['url = "%s"; database = "bms";' % srv.url])
r = subprocess.run([DAEMON, "-c", d.conf, "--once"], stderr=subprocess.PIPE, text=True, timeout=60)
tap.check("--once: the one point is written before the daemon exits (flush_interval 5 s)",
          r.returncode == 0 and len(points(srv.taken())) == 1, (r.returncode, r.stderr))
srv.close()

# 2. the 1.x write API: db, rp, precision; basic auth from username/password
srv = FakeServer()
d = Daemon(tmp, "v1", ['url = "%s"; database = "bms"; retention_policy = "one year";'
                       ' username = "writer"; password = "%s"; batch_size = 1;' % (srv.url, PASSWORD)])
d.start()
ok = wait_for(lambda: len(srv.taken()) >= 1, 20)
rc = d.stop()
r = srv.taken()[0] if srv.taken() else {"headers": {}}
tap.check("1.x: POST /write?db=bms&rp=one%20year&precision=ms with basic auth",
          ok and rc == 0 and r.get("path") == "/write"
          and r.get("raw_query") == "db=bms&rp=one%20year&precision=ms"
          and r["headers"].get("Authorization")
          == "Basic " + base64.b64encode(("writer:" + PASSWORD).encode()).decode()
          and "Token" not in str(r["headers"]), r)
srv.close()

# 3. 500, 429 (Retry-After), a timeout: each batch is sent again until it is
# taken, in order, and nothing is lost or doubled
srv = FakeServer()
srv.answer(500, '{"error":"engine: cache maximum memory size exceeded"}')
srv.answer(429, '{"code":"too many requests","message":"slow down"}', {"Retry-After": "1"})
srv.answer(204, "", {}, 2.0)  # longer than `timeout`: the sink gives up and retries
d = Daemon(tmp, "retry", ['url = "%s"; database = "bms"; batch_size = 3; flush_interval = 0.2;'
                          ' timeout = 0.5;' % srv.url], loop=True)
d.start()
ok = wait_for(lambda: len(srv.taken()) >= 8, 40)
rc = d.stop()
reqs = srv.taken()
bodies = [r["body"] for r in reqs]
stamps = [p[3] for p in points(reqs[3:])]
log = d.log()
tap.check("5xx, 429 and a timeout: the same batch is sent again, then the next ones",
          ok and rc == 0 and bodies[0] == bodies[1] == bodies[2] == bodies[3]
          and bodies[4] != bodies[3], [b[:60] for b in bodies[:6]])
tap.check("retried points arrive once each and in order",
          len(stamps) == len(set(stamps)) and stamps == sorted(stamps) and len(stamps) >= 12,
          stamps)
tap.check("one warning for the outage with the server's message, one line when it is over",
          len(re.findall("cannot write yet", log)) == 1
          and "HTTP 500: engine: cache maximum memory size exceeded" in log
          and len(re.findall("written again after 3 failed attempt", log)) == 1, log)

# 4. a 4xx is not retried: one error naming the server's message, counted;
# a server echoing the token gets it masked
srv = FakeServer()
srv.answer(401, '{"code":"unauthorized","message":"unauthorized access for token %s"}' % TOKEN)
srv.answer(401, '{"code":"unauthorized","message":"unauthorized access for token %s"}' % TOKEN)
# batch_size sends every request, two points each (a flush_interval as short as the
# record interval raced it and sent single points on a slow machine)
d = Daemon(tmp, "4xx", ['url = "%s"; org = "o"; bucket = "b"; token = "%s"; batch_size = 2;'
                        ' flush_interval = 30;' % (srv.url, TOKEN)], loop=True)
d.start()
ok = wait_for(lambda: len(srv.taken()) >= 4, 20)
rc = d.stop()
reqs = srv.taken()
log = d.log()
errors = [line for line in log.splitlines() if "ERROR" in line]
tap.check("HTTP 401: one clear error with the server's message, those points dropped, not retried",
          ok and rc == 0 and len(errors) == 1
          and "HTTP 401: unauthorized access for token ***" in errors[0]
          and len({r["body"] for r in reqs}) == len(reqs), log)
totals = re.findall(r"influxdb - \w+ - (\d+) record\(s\) received: (\d+) written, (\d+) dropped"
                    r"(?: \((.*)\))?$", log, re.M)
got = [int(x) for x in totals[0][:3]] if len(totals) == 1 else [0, 0, 0]
tap.check("HTTP 401: one line of totals, received = written + dropped, the 4 refused points "
          "among the dropped (not the written), no other count",
          len(totals) == 1 and got[0] == got[1] + got[2] and got[2] >= 4
          and re.search(r"\b4 refused by the server", totals[0][3]) is not None
          and "point(s) in all" not in log and "never took" not in log, log)
tap.check("the token never appears in a log", all(TOKEN not in open(os.path.join(tmp, f)).read()
                                                  for f in os.listdir(tmp) if f.endswith(".log")))
tap.check("the password never appears in a log",
          all(PASSWORD not in open(os.path.join(tmp, f)).read()
              for f in os.listdir(tmp) if f.endswith(".log")))
srv.close()

# 5. settings the table cannot check alone: one line each, exit 78
cases = [
    ('url = "http://127.0.0.1:1"; database = "a"; bucket = "b"; org = "o";', "exactly one"),
    ('url = "http://127.0.0.1:1";', "exactly one"),
    ('url = "http://127.0.0.1:1"; bucket = "b";', "needs org"),
    ('url = "http://127.0.0.1:1"; database = "a"; token = "t";', "belongs to the 2.x API"),
    ('url = "http://127.0.0.1:1"; bucket = "b"; org = "o"; username = "u";', "belongs to the 1.x"),
    ('url = "http://127.0.0.1:1"; database = "a"; password = "%s";' % PASSWORD, "needs a username"),
    ('url = "http://u:%s@127.0.0.1:1"; database = "a";' % PASSWORD, "no credentials in the URL"),
    ('url = "ftp://127.0.0.1"; database = "a";', "want http://"),
    ('url = "http://127.0.0.1:1"; database = "a"; password_file = "%s/none"; username = "u";'
     % tmp, "none: No such file"),
    ('url = "http://127.0.0.1:1"; database = "a"; tags = [ "battery=x" ];', "the sink's own tags"),
    ('url = "http://127.0.0.1:1"; database = "a"; tags = [ "novalue" ];', "key=value"),
    ('url = "http://127.0.0.1:1"; database = "a"; measurement = "#m";', "comment"),
    ('url = "http://127.0.0.1:1"; bucket = "b"; org = "o"; token = "t\\r\\nX-Injected: 1";',
     "token: has a control character (0x0d at byte 2): refused, never sent"),
    ('url = "http://127.0.0.1:1"; bucket = "b"; org = "o"; token_file = "%s/esc-token";' % tmp,
     "token_file: has a control character (0x1b at byte 3)"),
    ('url = "http://127.0.0.1:1"; database = "a"; username = "u\\nHost: x"; password = "p";',
     "username: has a control character (0x0a at byte 2)"),
]
with open(os.path.join(tmp, "esc-token"), "w") as f:
    f.write("ab\x1b[31mcd\n")
bad = []
for i, (text, want) in enumerate(cases):
    d = Daemon(tmp, "check%d" % i, [text])
    code, err = d.check_config()
    lines = err.strip().splitlines()
    if code != 78 or len(lines) != 1 or want not in lines[0] or PASSWORD in err \
            or not re.match(r".*check%d\.conf:\d+: " % i, lines[0]):
        bad.append("%s -> %d %r" % (text, code, err))
tap.check("cross-setting errors: one line naming file:line and the setting, exit 78",
          not bad, "\n".join(bad))


# batch_bytes bounds a batch whatever batch_size says: with 100000 points
# per request and a minute between flushes, requests still go out, each
# within the bound (a point alone may be more), nothing lost or doubled
srv = FakeServer()
d = Daemon(tmp, "bytes", ['url = "%s"; database = "bms"; batch_size = 100000; batch_bytes = 4096;'
                          ' flush_interval = 60;' % srv.url], loop=True)
d.start()
ok = wait_for(lambda: len(srv.taken()) >= 3, 30)
rc = d.stop()
reqs = srv.taken()
sizes = [(len(r["body"].encode()), len(r["body"].splitlines())) for r in reqs]
times = [parse_line(line)[3] for r in reqs for line in r["body"].splitlines()]
tap.check("batch_bytes: requests go out within the bound long before flush_interval, in order",
          ok and rc == 0 and all(n <= 4096 or lines == 1 for n, lines in sizes)
          and any(lines > 1 for _, lines in sizes) and times == sorted(times)
          and len(set(times)) == len(times), (sizes, d.log()[-600:]))
srv.close()

# a CR/LF in the token never reaches the server: the daemon refuses to start
srv = FakeServer()
d = Daemon(tmp, "inject", ['url = "%s"; org = "o"; bucket = "b"; token = "t\\r\\nX-Injected: 1";'
                           ' batch_size = 1;' % srv.url])
d.start()
try:
    rc = d.proc.wait(timeout=30)
except subprocess.TimeoutExpired:
    rc = d.stop()
tap.check("a token with CR/LF: the daemon does not start (78) and the server gets no request",
          rc == 78 and srv.taken() == [] and "control character" in d.log(), (rc, d.log()))
srv.close()


# 6. TLS: a CA and a certificate for 127.0.0.1 made here
def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, cwd=tmp, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=e2e CA",
        "-keyout", "ca.key", "-out", "ca.pem")
openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=other CA",
        "-keyout", "other.key", "-out", "other.pem")
openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
        "-out", "server.csr")
with open(os.path.join(tmp, "san.ext"), "w") as f:
    f.write("subjectAltName = IP:127.0.0.1\n")
openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem")
srv = FakeServer(os.path.join(tmp, "server.pem"), os.path.join(tmp, "server.key"))
d = Daemon(tmp, "tls", ['url = "%s"; database = "bms"; cafile = "%s/ca.pem"; batch_size = 1;'
                        % (srv.url, tmp)])
d.start()
ok = wait_for(lambda: len(srv.taken()) >= 1, 20)
rc = d.stop()
tap.check("TLS: points reach an https server the cafile vouches for", ok and rc == 0, d.log())
n = len(srv.taken())
d = Daemon(tmp, "tls-other", ['url = "%s"; database = "bms"; cafile = "%s/other.pem";'
                              ' batch_size = 1;' % (srv.url, tmp)])
d.start()
time.sleep(2.0)
rc = d.stop()
log = d.log()
tap.check("TLS: verification is on: a server the cafile does not vouch for gets nothing, "
          "one warning says why",
          rc == 0 and len(srv.taken()) == n and len(re.findall("cannot write yet", log)) == 1
          and re.search(r"certificate", log, re.I) is not None, log)
d = Daemon(tmp, "tls-off", ['url = "%s"; database = "bms"; cafile = "%s/other.pem";'
                            ' tls_verify = false; batch_size = 1;' % (srv.url, tmp)])
d.start()
ok = wait_for(lambda: len(srv.taken()) > n, 20)
rc = d.stop()
tap.check("TLS: tls_verify = false writes all the same", ok and rc == 0, d.log())
srv.close()

tap.finish([cleanup])
