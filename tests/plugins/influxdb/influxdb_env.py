#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""eamoon's .env steers nothing (issue 25.4): collector.env_file takes only
the names collectord documents from a .env another user (nobody) owns;
LD_AUDIT and the proxy variables in it have no effect; http_proxy in the
daemon's own environment does not route the influxdb sink's points either;
only its `proxy` setting does. The unit has no EnvironmentFile= and clears
the loader and proxy variables. TAP."""
import os
import pwd
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from influx_fixtures import (CAPTURE, DAEMON, TOP_BUILD, FakeServer, Tap,  # noqa: E402
                             make_tmp, parse_line)

tap = Tap()
tmp, cleanup = make_tmp("influxdb-env-")
os.chmod(tmp, 0o755)
server, proxy = FakeServer(), FakeServer()
nobody = pwd.getpwnam("nobody")
ADDR = "C8:47:8C:00:00:25"

env_path = os.path.join(tmp, "eamoon.env")
with open(env_path, "w") as f:
    f.write("# eamoon's .env, owned by its user\n"
            "LD_AUDIT=%s\n" % os.path.join(TOP_BUILD, "tests", "abi", "plugins", "t_evil.so") +
            "LD_PRELOAD=/nonexistent/evil.so\n"
            "http_proxy=%s\nHTTP_PROXY=%s\nALL_PROXY=%s\n" % (proxy.url, proxy.url, proxy.url) +
            "export JK_BMS_ADDRESS=\"%s\"\n" % ADDR +
            "JK_BMS_POLL_INTERVAL=0.2   # seconds\n"
            "TELEGRAM_TOKEN=not-ours\n")
if os.geteuid() == 0:
    os.chown(env_path, nobody.pw_uid, nobody.pw_gid)


def conf(name, sink_extra="", env_file=env_path):
    """The replay source takes its interval, address and (were LD_AUDIT
    imported) its file from the variables."""
    lines = [
        'collector = { state_dir = "%s"; %s };' % (
            tmp, 'env_file = "%s";' % env_file if env_file else ""),
        'sources = ( { plugin = "jk_replay"; name = "battery1"; loop = false;',
        '  interval = "${JK_BMS_POLL_INTERVAL:-30}"; file = "${LD_AUDIT:-%s}";' % CAPTURE,
        '  address = "${JK_BMS_ADDRESS:-00:00:00:00:00:00}"; } );',
        'sinks = ( { plugin = "influxdb"; name = "influx"; url = "%s"; database = "db";' % server.url,
        '  batch_size = 1; flush_interval = 0.1; timeout = 3; %s } );' % sink_extra,
    ]
    path = os.path.join(tmp, name + ".conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return path


def once(path, extra_env=None):
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()
           and k not in ("LD_AUDIT", "JK_BMS_ADDRESS", "JK_BMS_POLL_INTERVAL", "DB_PATH")}
    env.update(extra_env or {})
    r = subprocess.run([DAEMON, "-c", path, "--once", "-v"], stderr=subprocess.PIPE, text=True,
                       env=env, timeout=120)
    return r.returncode, r.stderr


def addresses(reqs):
    out = []
    for q in reqs:
        for line in q["body"].splitlines():
            out.append(parse_line(line)[1].get("address"))
    return out


# 1. The .env's documented names are taken, nothing else is.
rc, err = once(conf("envfile"))
got = server.taken()
tap.check("env_file (owned by nobody): JK_BMS_ADDRESS imported, LD_AUDIT not (the capture "
          "was replayed), --once exits 0",
          rc == 0 and got and set(addresses(got)) == {ADDR}, (rc, err[-1500:]))
tap.check("http_proxy, HTTP_PROXY, ALL_PROXY in the .env: the proxy saw nothing",
          not proxy.taken(), proxy.taken()[:1])
tap.check("the debug line names what was imported and how much was ignored",
          "imported JK_BMS_ADDRESS, JK_BMS_POLL_INTERVAL; 6 other line(s) ignored" in err,
          err[-1500:])

# 2. http_proxy in the daemon's own environment: still direct.
n_before = len(server.taken())
rc, err = once(conf("ownenv", env_file=None),
               {"http_proxy": proxy.url, "HTTP_PROXY": proxy.url, "ALL_PROXY": proxy.url})
tap.check("http_proxy in the daemon's environment: the points go to the server, not the proxy",
          rc == 0 and len(server.taken()) > n_before and not proxy.taken(),
          (rc, err[-800:], proxy.taken()[:1]))

# 3. The proxy setting is the one way to use a proxy.
rc, err = once(conf("proxied", 'proxy = "%s";' % proxy.url, env_file=None))
tap.check("proxy = \"http://...\": the request goes through that proxy",
          len(proxy.taken()) > 0 and proxy.taken()[0]["path"] == "/write", (rc, err[-800:]))

# 4. A .env that is a link, or a FIFO, is refused in one line, --check 78.
link = os.path.join(tmp, "link.env")
os.symlink(env_path, link)
fifo = os.path.join(tmp, "fifo.env")
os.mkfifo(fifo)
for what, path in (("a symbolic link", link), ("a FIFO", fifo)):
    r = subprocess.run([DAEMON, "-c", conf("bad", env_file=path), "--check"],
                       stderr=subprocess.PIPE, text=True, timeout=30)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    tap.check("env_file that is %s: exit 78, one line naming it" % what,
              r.returncode == 78 and len(lines) == 1 and "env_file" in lines[0]
              and path in lines[0], r.stderr)

# 5. The unit: no EnvironmentFile=, loader and proxy variables cleared.
unit = open(os.path.join(TOP_BUILD, "etc", "collectord.service")).read()
unset = " ".join(line.split("=", 1)[1] for line in unit.splitlines()
                 if line.startswith("UnsetEnvironment=")).split()
tap.check("collectord.service: no EnvironmentFile=, UnsetEnvironment= clears LD_AUDIT, "
          "LD_PRELOAD, http_proxy, https_proxy, HTTP_PROXY, ALL_PROXY, NO_PROXY",
          not any(line.startswith("EnvironmentFile=") for line in unit.splitlines()) and all(
              v in unset for v in ("LD_AUDIT", "LD_PRELOAD", "LD_LIBRARY_PATH", "http_proxy",
                                   "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                                   "NO_PROXY")), unset)

server.close()
proxy.close()
tap.finish(cleanup=[cleanup])
