# SPDX-License-Identifier: GPL-2.0-or-later
"""What the influxdb sink's tests share: a real influxd (Debian's influxdb
1.6) on free 127.0.0.1 ports with its own temp dirs, an HTTP listener of the
test's own that records every request and answers as told, collectord runs
on a replayed capture, and TAP output."""
import atexit
import http.server
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

TOP_SRC = os.environ["top_srcdir"]
TOP_BUILD = os.environ["top_builddir"]
DAEMON = os.path.join(TOP_BUILD, "core", "collectord")
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "tools"))
from ports import free_port  # noqa: E402
from tap import Tap  # noqa: E402,F401  (one TAP for every test)
from waiting import wait_for  # noqa: E402,F401  (one wait for every test)
JKBMS_UTIL = os.path.join(TOP_BUILD, "tools", "jkbms-util", "jkbms-util")
CAPTURE = os.path.join(TOP_SRC, "etc", "demo", "jk_b2a24s20p.hex")
INFLUXD = os.environ.get("INFLUXD_BIN") or "/usr/bin/influxd"
if INFLUXD == "no":
    INFLUXD = "/usr/bin/influxd"


class Influxd:
    """influxd on a free 127.0.0.1 HTTP port (and a free RPC port for its
    backup service), data, meta and WAL under `tmp`; stop() then start()
    keeps the data."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.port = free_port()
        self.rpc_port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.conf = os.path.join(tmp, "influxd.conf")
        with open(self.conf, "w") as f:
            f.write('reporting-disabled = true\nbind-address = "127.0.0.1:%d"\n'
                    '[meta]\n  dir = "%s/meta"\n  logging-enabled = false\n'
                    '[data]\n  dir = "%s/data"\n  wal-dir = "%s/wal"\n  query-log-enabled = false\n'
                    '[monitor]\n  store-enabled = false\n'
                    '[http]\n  bind-address = "127.0.0.1:%d"\n  log-enabled = false\n'
                    % (self.rpc_port, tmp, tmp, tmp, self.port))
        self.proc = None
        atexit.register(self.stop)  # also when a check raises

    def start(self):
        log = open(os.path.join(self.tmp, "influxd.log"), "a")
        self.proc = subprocess.Popen([INFLUXD, "-config", self.conf], stdout=log,
                                     stderr=subprocess.STDOUT)
        if not wait_for(self.ping, 30):
            raise RuntimeError("influxd did not answer on %s" % self.url)

    def ping(self):
        try:
            return urllib.request.urlopen(self.url + "/ping", timeout=0.5).status == 204
        except OSError:
            return False

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None

    def query(self, q, db=None, post=False):
        params = {"q": q, "epoch": "ms"}
        if db:
            params["db"] = db
        data = urllib.parse.urlencode(params).encode()
        if post:
            req = urllib.request.Request(self.url + "/query", data=data)
        else:
            req = urllib.request.Request(self.url + "/query?" + data.decode())
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def rows(self, q, db):
        """Every row of every series as a dict (tags included)."""
        out = []
        for res in self.query(q, db).get("results", []):
            for s in res.get("series", []):
                for v in s["values"]:
                    row = dict(zip(s["columns"], v))
                    row.update(s.get("tags") or {})
                    out.append(row)
        return out


class FakeServer:
    """An HTTP(S) listener on a free 127.0.0.1 port that records every
    request (method, path, query, headers, body) and answers from
    `self.answers` (a list of (status, body, headers, delay_s), oldest first;
    204 when empty)."""

    def __init__(self, tls_cert=None, tls_key=None):
        self.port = free_port()
        self.requests = []
        self.answers = []
        self.lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode("utf-8", "replace")
                url = urllib.parse.urlsplit(self.path)
                with fake.lock:
                    fake.requests.append({"method": "POST", "path": url.path,
                                          "query": urllib.parse.parse_qs(url.query),
                                          "raw_query": url.query,
                                          "headers": dict(self.headers.items()), "body": body})
                    status, text, headers, delay = fake.answers.pop(0) if fake.answers \
                        else (204, "", {}, 0)
                if delay:
                    time.sleep(delay)
                payload = text.encode()
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(payload)))
                    if payload:
                        self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        scheme = "http"
        if tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls_cert, tls_key)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = "%s://127.0.0.1:%d" % (scheme, self.port)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, status, body="", headers=None, delay=0):
        with self.lock:
            self.answers.append((status, body, headers or {}, delay))

    def taken(self):
        """The requests so far (a copy)."""
        with self.lock:
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Daemon:
    """collectord on jk_replay (the capture, looped or not) -> soc_lifepo4 ->
    the sinks given; its log goes to a file."""

    def __init__(self, tmp, name, sinks, loop=False, interval=0.2, log_level="info"):
        self.tmp = tmp
        self.name = name
        self.conf = os.path.join(tmp, name + ".conf")
        self.log_path = os.path.join(tmp, name + ".log")
        with open(self.conf, "w") as f:
            f.write('collector = { state_dir = "%s"; log_level = "%s"; };\n'
                    'sources = ( { plugin = "jk_replay"; name = "battery1"; loop = %s;'
                    ' interval = %s; file = "%s"; address = "C8:47:8C:00:00:01"; } );\n'
                    'calculators = ( { plugin = "soc_lifepo4"; } );\n'
                    'sinks = ( %s );\n'
                    % (tmp, log_level, "true" if loop else "false", interval, CAPTURE,
                       ", ".join("{ plugin = \"influxdb\"; %s }" % s for s in sinks)))
        os.chmod(self.conf, 0o600)  # it may hold a password
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([DAEMON, "-c", self.conf], stderr=open(self.log_path, "w"))
        atexit.register(lambda p=self.proc: p.poll() is None and p.kill())
        return self

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)
        return self.proc.returncode

    def check_config(self):
        r = subprocess.run([DAEMON, "-c", self.conf, "--check"], stderr=subprocess.PIPE,
                           text=True)
        return r.returncode, r.stderr

    def log(self):
        return open(self.log_path).read()


def capture_records():
    """The capture's own cell-info records, decoded by jkbms-util."""
    out = subprocess.run([JKBMS_UTIL, "--decode", CAPTURE, "--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def make_tmp(prefix):
    tmp = tempfile.mkdtemp(prefix=prefix)
    return tmp, (lambda: shutil.rmtree(tmp, ignore_errors=True))


def parse_line(line):
    """A line-protocol line as (measurement, tags, fields, timestamp), with
    the escapes of the line protocol reference undone (no quotes in names)."""
    def split(text, seps, limit=None):
        parts, cur, i, quoted = [], "", 0, False
        while i < len(text):
            c = text[i]
            if c == "\\" and i + 1 < len(text):
                cur += text[i:i + 2]
                i += 2
                continue
            if c == '"':
                quoted = not quoted
            if c in seps and not quoted and (limit is None or len(parts) < limit):
                parts.append(cur)
                cur = ""
            else:
                cur += c
            i += 1
        parts.append(cur)
        return parts

    def unesc(t):
        return t.replace("\\,", ",").replace("\\=", "=").replace("\\ ", " ")

    head, fields, ts = split(line, " ")
    mt = split(head, ",")
    tags = dict(tuple(unesc(x) for x in split(t, "=", 1)) for t in mt[1:])
    fv = {}
    for f in split(fields, ","):
        k, v = split(f, "=", 1)
        if v.startswith('"'):
            v = v[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        elif v.endswith("i"):
            v = int(v[:-1])
        elif v in ("true", "false"):
            v = v == "true"
        else:
            v = float(v)
        fv[unesc(k)] = v
    return unesc(mt[0]), tags, fv, int(ts)
