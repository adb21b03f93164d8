#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 24's acceptance end to end: the daemon with two jk_ble sources on
simulated JK BMS (jk_sim.py, whose write path checks every frame byte for
byte), a bank, alarms, mqtt on a real mosquitto (127.0.0.1) and sqlite_merge
with history. An HA switch entity per allowed switch; OFF on the command
topic reaches the BMS as the exact frame and the state topic shows the
read-back; a retained OFF does nothing; a disallowed switch and an unsafe
bank command are refused with the BMS receiving nothing; a timed OFF returns
to ON after its duration, also across a restart; bms_commands has a row per
command; a change the BMS makes by itself raises switch_changed once. TAP."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile

TOP_SRC = os.environ["top_srcdir"]
TOP_BUILD = os.environ["top_builddir"]
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "plugins", "mqtt"))
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "plugins", "jk_ble"))
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "tools"))
import eamoon_poller  # noqa: E402
import mqttlib  # noqa: E402
from mqttlib import DAEMON, free_port, messages, wait_for  # noqa: E402
from sims import lines, start, stop  # noqa: E402

run = mqttlib.Run("jk-control-daemon-")
check = run.check
# /tmp, not $TMPDIR (the build tree): a unix socket path must fit in 108 bytes
stmp = tempfile.mkdtemp(prefix="jkcd-", dir="/tmp")
PORT = free_port()
P = "test/site1"
DATA = os.path.join(TOP_SRC, "tests", "data", "jk")
NODE1 = "C8_47_8C_00_00_01"
S = os.path.join(stmp, "ctl.sock")
DB = run.path("inverter.db")


def sim(name, *extra):
    return start(stmp, name, "--device-info", os.path.join(DATA, "jk02_32s_v11_device_info.hex"),
                 "--cell-info", os.path.join(DATA, "jk02_32s_v11_cell_info.hex"),
                 "--protocol", "JK02_32S", "--connections", "0", *extra, prog="jk_sim.py")


def writes(log):
    return [x for x in lines(log) if x.startswith(("write ", "rejected "))]


def pub(topic, payload, retain=False):
    mqttlib.publish(PORT, topic, payload, retain)


def ctl(*args):
    return subprocess.run([DAEMON, "ctl", "--socket", S] + list(args), capture_output=True,
                          text=True, timeout=120)


def outcomes(path, battery):
    return mqttlib.command_outcomes(path, P, battery)


def states(path, battery):
    return [json.loads(p) for t, p in messages(path) if t == "%s/%s/state" % (P, battery)]


def commands_rows():
    try:
        con = sqlite3.connect(DB)
        rows = con.execute("SELECT battery, switch, requested, outcome, origin FROM bms_commands "
                           "ORDER BY id").fetchall()
        con.close()
        return rows
    except sqlite3.Error:
        return []


con = sqlite3.connect(DB)
con.execute(eamoon_poller.SCHEMA)
con.execute("INSERT INTO readings (created_at, payload) VALUES ('x', ?)",
            (json.dumps(eamoon_poller.inverter_payload(0)),))
con.commit()
con.close()
p1, sock1, log1 = sim("bms1")
# battery2's own protection takes discharge off a while after the start
p2, sock2, log2 = sim("bms2", "--spontaneous", "discharge=off@12")
conf = run.path("c.conf")
with open(conf, "w") as f:
    f.write('collector = { state_dir = "%s"; control_socket = "%s"; };\n'
            'sources = ( { plugin = "jk_ble"; name = "battery1"; address = "C8:47:8C:00:00:01";'
            ' transport = "unix:%s"; interval = 1; timeout = 5; control = ("charge", "discharge"); },\n'
            '            { plugin = "jk_ble"; name = "battery2"; address = "C8:47:8C:00:00:02";'
            ' transport = "unix:%s"; interval = 1; timeout = 5; } );\n'
            'calculators = ( { plugin = "bank"; members = ("battery1", "battery2"); },\n'
            '                { plugin = "alarms"; switch_window = 5.0; } );\n'
            'sinks = ( { plugin = "mqtt"; host = "127.0.0.1"; port = %d; topic_prefix = "%s";'
            ' discovery = true; keepalive = 5; },\n'
            '          { plugin = "sqlite_merge"; path = "%s"; history = true; } );\n'
            % (run.tmp, S, sock1, sock2, PORT, P, DB))
b = mqttlib.broker(run, PORT)
d = None
log = lambda: mqttlib.daemon_log(run, "daemon")  # noqa: E731
try:
    pub("%s/battery1/charge/set" % P, "OFF", retain=True)
    sub, subfile = mqttlib.subscribe(run, PORT, "all")
    d = mqttlib.start_daemon(run, conf, "daemon")

    wait_for(lambda: any(t.endswith("/%s/charge_switch/config" % NODE1) for t, _ in messages(subfile)), 60)
    configs = {t: json.loads(p) for t, p in messages(subfile) if t.startswith("homeassistant/")}
    sw = configs.get("homeassistant/switch/%s/charge_switch/config" % NODE1, {})
    check("discovery: an HA switch for an allowed switch, commanded on <prefix>/<battery>/charge/set",
          sw.get("command_topic") == "%s/battery1/charge/set" % P
          and sw.get("state_topic") == "%s/battery1/state" % P, sorted(configs))
    check("discovery: the balancer, not allowed, is a read-only binary_sensor",
          "homeassistant/binary_sensor/%s/balancer_switch/config" % NODE1 in configs, sorted(configs))
    wait_for(lambda: "a retained command is ignored" in log(), 30)
    check("a retained OFF does nothing: the BMS received no write", writes(log1) == []
          and "%s/battery1/charge/set: a retained command is ignored" % P in log(), writes(log1))

    pub("%s/battery1/charge/set" % P, "OFF")
    wait_for(lambda: outcomes(subfile, "battery1"), 60)
    out = outcomes(subfile, "battery1")
    check("OFF on the command topic reaches the BMS as its exact frame, once",
          writes(log1) == ["write charge off"], lines(log1)[-10:])
    check("the outcome topic says confirmed", out and out[0].get("outcome") == "confirmed", out)
    ok = wait_for(lambda: states(subfile, "battery1")
                  and states(subfile, "battery1")[-1].get("charge_switch") is False
                  and states(subfile, "battery1")[-1].get("charging_enabled") is False, 30)
    check("the state topic shows the read-back (switch and MOSFET off)", ok,
          states(subfile, "battery1")[-1:])

    pub("%s/battery1/balancer/set" % P, "OFF")
    wait_for(lambda: any(o.get("switch") == "balancer" for o in outcomes(subfile, "battery1")), 30)
    out = [o for o in outcomes(subfile, "battery1") if o.get("switch") == "balancer"]
    check("a disallowed switch is refused, the BMS receives nothing",
          out and out[0].get("outcome") == "refused" and writes(log1) == ["write charge off"], out)

    wait_for(lambda: any(s.get("discharge_switch") is False for s in states(subfile, "battery2")), 60)
    wait_for(lambda: "battery2: alarm switch_changed" in log(), 30)
    pub("%s/battery1/discharge/set" % P, "OFF")
    wait_for(lambda: any(o.get("switch") == "discharge" for o in outcomes(subfile, "battery1")), 30)
    out = [o for o in outcomes(subfile, "battery1") if o.get("switch") == "discharge"]
    check("an unsafe bank command is refused with the reason, the BMS receives nothing",
          out and out[0].get("outcome") == "refused"
          and "(battery2: off)" in out[0].get("detail", "")
          and writes(log1) == ["write charge off"], (out, writes(log1)))
    check("the change battery2's BMS made by itself raises switch_changed once",
          log().count("battery2: alarm switch_changed: discharge_switch on -> off") == 1, log()[-800:])

    r = ctl("battery1", "charge", "on")
    check("ctl: exit 0 on a confirmed command", r.returncode == 0
          and "battery1: charge on: confirmed" in r.stdout, r.stdout + r.stderr)
    r = ctl("battery1", "charge", "off", "--for", "4s")
    ok = r.returncode == 0 and wait_for(lambda: writes(log1)[-1:] == ["write charge on"], 60)
    check("a timed OFF returns to ON after its duration",
          ok and writes(log1) == ["write charge off", "write charge on", "write charge off",
                                  "write charge on"], (r.stdout + r.stderr, writes(log1)))

    r = ctl("battery1", "charge", "off", "--for", "8s")
    d.send_signal(signal.SIGTERM)
    d.wait(timeout=60)
    before = writes(log1)
    d = mqttlib.start_daemon(run, conf, "daemon2")
    ok = wait_for(lambda: writes(log1)[-1:] == ["write charge on"] and len(writes(log1)) == 6, 90)
    check("... also across a restart", r.returncode == 0 and before[-1:] == ["write charge off"]
          and ok, (before, writes(log1)))

    wait_for(lambda: len(commands_rows()) >= 8, 30)
    rows = commands_rows()
    check("bms_commands has a row per command, refusals and the timer's included",
          rows == [("battery1", "charge", "off", "confirmed", "mqtt"),
                   ("battery1", "balancer", "off", "refused", "mqtt"),
                   ("battery1", "discharge", "off", "refused", "mqtt"),
                   ("battery1", "charge", "on", "confirmed", "socket uid %d" % os.getuid()),
                   ("battery1", "charge", "off", "confirmed", "socket uid %d" % os.getuid()),
                   ("battery1", "charge", "on", "confirmed", "timer"),
                   ("battery1", "charge", "off", "confirmed", "socket uid %d" % os.getuid()),
                   ("battery1", "charge", "on", "confirmed", "timer")], rows)
    check("no switch_changed for battery1: every change was ours",
          "battery1: alarm switch_changed" not in log()
          and "battery1: alarm switch_changed" not in mqttlib.daemon_log(run, "daemon2"), "")
    d.send_signal(signal.SIGTERM)
    check("the daemon stops cleanly", d.wait(timeout=60) == 0, "")
    d = None
    sub.terminate()
finally:
    if d is not None:
        d.kill()
    stop(p1)
    stop(p2)
    b.terminate()
    b.wait()
    subprocess.run(["rm", "-rf", stmp])
run.finish()
