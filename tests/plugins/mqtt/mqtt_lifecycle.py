#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The mqtt sink's lifecycle against a real mosquitto on 127.0.0.1 that logs
everything (log_type all): --check opens no connection; --once delivers state
and discovery under a client id of its own while a running daemon's status
stays online; a SIGHUP that changes only a calculator keeps the one broker
session; refused credentials are named as errors; each battery's availability
follows its freshness and discovery carries expire_after; and the discovery
of the energy, bank and alarm metrics (fed by a test calculator). TAP."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mqttlib  # noqa: E402
from mqttlib import DAEMON, DEMO_HEX, free_port, messages, wait_for  # noqa: E402

run = mqttlib.Run("mqtt-life-")
check = run.check
PORT = free_port()
os.environ["COLLECTOR_PLUGIN_PATH"] = "%s:%s" % (
    os.path.join(mqttlib.TOP_BUILD, "tests", "plugins", "mqtt", "insight"),
    os.environ.get("COLLECTOR_PLUGIN_PATH", ""))

b = mqttlib.broker(run, PORT, "log_type all\nconnection_messages true")


def blog():
    return open(run.path("broker.log"), errors="replace").read()


def conf(name, source="battery1", address="C8:47:8C:00:00:01", calculators='{ plugin = "soc_lifepo4"; }',
         sink="", interval=0.2, loop="true", port=PORT):
    path = run.path(name + ".conf")
    with open(path, "w") as f:
        f.write('collector = { state_dir = "%s"; flush_timeout = 5; };\n'
                'sources = ( { plugin = "jk_replay"; name = "%s"; loop = %s; interval = %s;'
                ' file = "%s"; address = "%s"; } );\n'
                'calculators = ( %s );\n'
                'sinks = ( { plugin = "mqtt"; host = "127.0.0.1"; port = %d; topic_prefix = "life";'
                ' discovery = true; keepalive = 5; %s } );\n'
                % (run.tmp, source, loop, interval, DEMO_HEX, address, calculators, port, sink))
    return path


# --check: validates, connects to nothing (the only connection so far is the
# probe that saw the broker's port open)
wait_for(lambda: "closed its connection" in blog(), 5)
before = blog().count("New connection from")
r = subprocess.run([DAEMON, "-c", conf("check"), "--check"], stderr=subprocess.PIPE, text=True)
time.sleep(0.5)
check("--check with an mqtt sink: exit 0 and no connection in the broker's log",
      r.returncode == 0 and blog().count("New connection from") == before
      and "New client connected" not in blog(), r.stderr + blog()[-300:])

# a running daemon, then --once beside it
sub, subfile = mqttlib.subscribe(run, PORT, "all", "life/#")
d = mqttlib.start_daemon(run, conf("main"), "main")
ok = wait_for(lambda: ("life/status", "online") in messages(subfile)
              and ("life/battery1/availability", "online") in messages(subfile), 20)
check("daemon: status and battery availability online", ok, mqttlib.daemon_log(run, "main")[-400:])
r = subprocess.run([DAEMON, "-c", conf("once", source="oncebat", address="C8:47:8C:00:00:09"), "--once"],
                   stderr=subprocess.PIPE, text=True, timeout=60)
time.sleep(0.5)
msgs = messages(subfile)
once_states = [p for t, p in msgs if t == "life/oncebat/state"]
check("--once: exit 0, its state reached the broker, nothing dropped",
      r.returncode == 0 and len(once_states) == 1 and "dropped" not in r.stderr
      and json.loads(once_states[0]).get("battery_voltage") == 51.689, r.stderr)
rsub, rfile = mqttlib.subscribe(run, PORT, "once-retained", "homeassistant/+/C8_47_8C_00_00_09/#",
                                retained_only=True)
time.sleep(0.8)
rsub.terminate()
once_cfg = dict(messages(rfile))
check("--once: its discovery is on the broker (retained)",
      "homeassistant/sensor/C8_47_8C_00_00_09/battery_voltage/config" in once_cfg
      and "homeassistant/sensor/C8_47_8C_00_00_09/cell_16/config" in once_cfg, sorted(once_cfg)[:5])
log = blog()
check("--once: a client id of its own, no takeover of the daemon's session",
      "-once-" in log and "already connected, closing old connection" not in log
      and "oncebat/availability" not in log, [ln for ln in log.splitlines() if "once" in ln][:4])
status = [p for t, p in msgs if t == "life/status"]
avail = [p for t, p in msgs if t == "life/battery1/availability"]
# from the daemon's first "online" on (before it, a retained or a start-up "offline" for
# records that reached the broker already stale is the truth, and not the --once run's doing)
avail = avail[avail.index("online"):] if "online" in avail else avail
check("--once: the daemon's status and availability stayed online throughout",
      status and set(status) == {"online"} and set(avail) == {"online"}
      and not any(t == "life/oncebat/availability" for t, _ in msgs), (status, avail))

# SIGHUP that changes only a calculator: one broker session all along
connects_before = log.count("New client connected")
with open(run.path("main.conf")) as f:
    text = f.read()
with open(run.path("main.conf"), "w") as f:
    f.write(text.replace('{ plugin = "soc_lifepo4"; }', '{ plugin = "soc_lifepo4"; source = "bms"; }'))
n_states = sum(1 for t, _ in messages(subfile) if t == "life/battery1/state")
d.send_signal(signal.SIGHUP)
ok = wait_for(lambda: sum(1 for t, _ in messages(subfile) if t == "life/battery1/state") >= n_states + 5, 20)
time.sleep(1.0)
log = blog()
check("SIGHUP changing a calculator: records flow, no new CONNECT, no session takeover",
      ok and "reload" in mqttlib.daemon_log(run, "main").lower()
      and log.count("New client connected") == connects_before
      and "already connected, closing old connection" not in log,
      mqttlib.daemon_log(run, "main")[-500:])
check("SIGHUP changing a calculator: status never offline",
      ("life/status", "offline") not in messages(subfile), "")
d.terminate()
d.wait(timeout=30)
check("SIGTERM: the daemon says offline as it leaves and exits 0",
      d.returncode == 0 and ("life/status", "offline") in messages(subfile)
      and ("life/battery1/availability", "offline") in messages(subfile),
      mqttlib.daemon_log(run, "main")[-300:])
sub.terminate()

# a silent battery goes offline after 3 x its interval; discovery says so
sub, subfile = mqttlib.subscribe(run, PORT, "fresh", "life/#")
d = mqttlib.start_daemon(run, conf("fresh", source="shortbat", interval=0.5, loop="false"), "fresh")
ok = wait_for(lambda: ("life/shortbat/availability", "offline") in messages(subfile), 30)
msgs = messages(subfile)
seq = [p for t, p in msgs if t == "life/shortbat/availability"]
states = [json.loads(p) for t, p in msgs if t == "life/shortbat/state"]
check("availability: online while it reports, offline once silent > 3 x interval, daemon online",
      ok and seq[:1] == ["online"] and seq[-1] == "offline" and len(states) >= 1
      and [p for t, p in msgs if t == "life/status"][-1:] == ["online"],
      (seq, len(states), mqttlib.daemon_log(run, "fresh")[-300:]))
rsub, rfile = mqttlib.subscribe(run, PORT, "fresh-retained", "homeassistant/sensor/C8_47_8C_00_00_01/#",
                                retained_only=True)
time.sleep(0.8)
rsub.terminate()
volt = json.loads(dict(messages(rfile)).get(
    "homeassistant/sensor/C8_47_8C_00_00_01/battery_voltage/config", "{}"))
check("discovery: expire_after from the same figure (3 x 0.5 s, rounded up to 2 s)",
      volt.get("expire_after") == 2, volt)
d.terminate()
d.wait(timeout=30)
sub.terminate()

# max_age overrides the interval
d = mqttlib.start_daemon(run, conf("maxage", source="agebat", address="C8:47:8C:00:00:05",
                                   sink="max_age = 42;"), "maxage")
wait_for(lambda: "connected to" in mqttlib.daemon_log(run, "maxage"), 10)
time.sleep(1.0)
rsub, rfile = mqttlib.subscribe(run, PORT, "age-retained", "homeassistant/sensor/C8_47_8C_00_00_05/#",
                                retained_only=True)
time.sleep(0.8)
rsub.terminate()
d.terminate()
d.wait(timeout=30)
volt = json.loads(dict(messages(rfile)).get(
    "homeassistant/sensor/C8_47_8C_00_00_05/battery_voltage/config", "{}"))
check("discovery: expire_after = max_age when set", volt.get("expire_after") == 42, volt)

# energy, bank and alarm metrics (from a test calculator): discovery payloads
d = mqttlib.start_daemon(run, conf("insight", source="insbat", address="C8:47:8C:00:00:07",
                                   calculators='{ plugin = "soc_lifepo4"; }, { plugin = "t_insight"; name = "bank"; }'),
                         "insight")
wait_for(lambda: "connected to" in mqttlib.daemon_log(run, "insight"), 10)
time.sleep(1.5)
rsub, rfile = mqttlib.subscribe(run, PORT, "insight-retained", "homeassistant/#", retained_only=True)
time.sleep(1.0)
rsub.terminate()
d.terminate()
d.wait(timeout=30)
cfg = {t: json.loads(p) for t, p in messages(rfile)}
node = "C8_47_8C_00_00_07"


def entity(component, metric, node=node):
    return cfg.get("homeassistant/%s/%s/%s/config" % (component, node, metric), {})


energy_ok = all(entity("sensor", m).get("device_class") == "energy"
                and entity("sensor", m).get("state_class") == "total_increasing"
                and entity("sensor", m).get("unit_of_measurement") == "kWh"
                and entity("sensor", m).get("value_template") == "{{ value_json.%s }}" % m
                for m in ("energy_charged_kwh", "energy_discharged_kwh",
                          "energy_charged_today_kwh", "energy_discharged_today_kwh"))
check("discovery: energy totals as energy / total_increasing / kWh (HA's Energy dashboard)",
      energy_ok, {k: v.get("device_class") for k, v in cfg.items() if "energy" in k})
tte = entity("sensor", "time_to_empty_s")
check("discovery: time_to_empty_s as a duration in s, unknown when absent",
      tte.get("device_class") == "duration" and tte.get("unit_of_measurement") == "s"
      and "is defined" in tte.get("value_template", "")
      and not entity("sensor", "time_to_full_s"), tte)
alarm = entity("binary_sensor", "alarm")
alarms = entity("sensor", "alarms")
check("discovery: alarm as a problem binary_sensor, alarms as a text sensor",
      alarm.get("device_class") == "problem" and alarm.get("payload_on") is True
      and alarms.get("value_template") == "{{ value_json.alarms }}"
      and "device_class" not in alarms and "state_class" not in alarms
      and "unit_of_measurement" not in alarms, (alarm, alarms))
mo = entity("sensor", "members_online", node="bank")
mt = entity("sensor", "members_total", node="bank")
bp = entity("sensor", "battery_power", node="bank")
check("discovery: a bank record is its own device with members_online / members_total",
      mo.get("state_topic") == "life/bank/state" and mt.get("value_template") == "{{ value_json.members_total }}"
      and mo.get("device", {}).get("identifiers") == ["bank"]
      and mo["device"].get("name") == "bank" and bp.get("device_class") == "power"
      and {"topic": "life/bank/availability"} in mo.get("availability", [])
      and entity("sensor", "battery_voltage").get("device", {}).get("identifiers") == [node],
      (mo, sorted(k for k in cfg if "/bank/" in k)))

# the real calculators (energy, bank over two batteries, alarms) feed the same discovery
with open(run.path("real.conf"), "w") as f:
    f.write('collector = { state_dir = "%s"; flush_timeout = 5; };\n'
            'sources = ( { plugin = "jk_replay"; name = "rb1"; loop = true; interval = 0.2; file = "%s";'
            ' address = "C8:47:8C:00:00:11"; },\n'
            '  { plugin = "jk_replay"; name = "rb2"; loop = true; interval = 0.2; file = "%s";'
            ' address = "C8:47:8C:00:00:12"; } );\n'
            'calculators = ( { plugin = "energy"; daily = true; },\n'
            '  { plugin = "bank"; name = "rbank"; members = ("rb1", "rb2"); },\n'
            '  { plugin = "alarms"; cell_delta_max_v = 0.001; } );\n'
            'sinks = ( { plugin = "mqtt"; host = "127.0.0.1"; port = %d; topic_prefix = "real";'
            ' discovery = true; } );\n' % (run.tmp, DEMO_HEX, DEMO_HEX, PORT))
d = mqttlib.start_daemon(run, run.path("real.conf"), "real")
wait_for(lambda: "connected to" in mqttlib.daemon_log(run, "real"), 10)
time.sleep(2.0)
rsub, rfile = mqttlib.subscribe(run, PORT, "real-retained", "homeassistant/#", retained_only=True)
time.sleep(1.0)
rsub.terminate()
d.terminate()
d.wait(timeout=30)
cfg = {t: json.loads(p) for t, p in messages(rfile)}
ech = entity("sensor", "energy_charged_kwh", node="C8_47_8C_00_00_11")
bank_total = entity("sensor", "members_total", node="rbank")
bank_power = entity("sensor", "battery_power", node="rbank")
alarm = entity("binary_sensor", "alarm", node="C8_47_8C_00_00_12")
check("real energy, bank and alarms calculators: energy and alarm entities per battery, the bank a device",
      ech.get("device_class") == "energy" and ech.get("state_class") == "total_increasing"
      and bank_total.get("device", {}).get("identifiers") == ["rbank"]
      and bank_power.get("state_topic") == "real/rbank/state"
      and alarm.get("device_class") == "problem" and d.returncode == 0,
      (sorted(k for k in cfg if "rbank" in k or "energy" in k)[:8], mqttlib.daemon_log(run, "real")[-400:]))

# credentials: a broker with a password file and an acl
# (where mosquitto, dropped to its own user, can read them)
pw, acl = run.broker_path("passwd"), run.broker_path("acl")
with open(pw, "w") as f:
    f.write("")
subprocess.run(["mosquitto_passwd", "-b", pw, "sink", "right"], check=True)
with open(acl, "w") as f:
    f.write("user sink\ntopic readwrite life/#\ntopic readwrite homeassistant/#\n")
for name in (pw, acl):
    os.chmod(name, 0o644)
APORT = free_port()
ab = mqttlib.broker(run, APORT, "allow_anonymous false\npassword_file %s\nacl_file %s"
                    % (pw, acl), name="auth-broker")
with open(run.path("secret"), "w") as f:
    f.write("right\n")
asub, afile = mqttlib.subscribe(run, APORT, "auth-sub", "life/#", auth=("-u", "sink", "-P", "right"))
d = mqttlib.start_daemon(run, conf("auth-ok", port=APORT,
                                   sink='username = "sink"; password_file = "%s";' % run.path("secret")),
                         "auth-ok")
ok = wait_for(lambda: any(t == "life/battery1/state" for t, _ in messages(afile)), 20)
d.terminate()
d.wait(timeout=30)
check("credentials from password_file: records reach a broker with an acl", ok,
      mqttlib.daemon_log(run, "auth-ok")[-300:])
for name, sink, code, words in (
        ("auth-bad", 'username = "sink"; password = "wrong";', None, None),
        ("auth-none", "", None, None)):
    d = mqttlib.start_daemon(run, conf(name, port=APORT, sink=sink), name)
    wait_for(lambda: "refused" in mqttlib.daemon_log(run, name), 15)
    time.sleep(2.5)  # Paho tries again: said once all the same
    d.terminate()
    d.wait(timeout=30)
    err = mqttlib.daemon_log(run, name)
    refused = [ln for ln in err.splitlines() if "refused the connection" in ln]
    check("%s: the broker's refusal is one ERROR line naming it, not 'cannot connect yet'" % name,
          len(refused) == 1 and " - ERROR - " in refused[0]
          # mosquitto 2 answers 5 to a wrong password and to none alike
          # (code 4 is covered by test_mqtt_sink's fake Paho)
          and "not authorized (CONNACK 5)" in refused[0]
          and "cannot connect yet" not in err and "wrong" not in err and d.returncode == 0, err[-600:])
asub.terminate()
ab.terminate()
ab.wait()
b.terminate()
b.wait()
run.finish()
