#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Commands from Home Assistant through the mqtt sink and a real mosquitto on
127.0.0.1, against the t_switch test source (a simulated switch that logs
what it receives): an HA switch entity per allowed switch and read-only
binary_sensors for the others; ON/OFF on <prefix>/<battery>/<switch>/set
reaches the device and the state topic shows the read-back; a retained OFF
does nothing; a disallowed switch and an unsafe bank command are refused,
said on <prefix>/<battery>/command, and the device receives nothing. TAP."""
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mqttlib  # noqa: E402
from mqttlib import TOP_BUILD, free_port, messages, wait_for  # noqa: E402

run = mqttlib.Run("mqtt-control-")
tmp = run.tmp
check = run.check
PORT = free_port()
P = "test/site1"
os.environ["COLLECTOR_PLUGIN_PATH"] = "%s:%s" % (os.path.join(TOP_BUILD, "tests", "abi", "plugins"),
                                                 os.environ.get("COLLECTOR_PLUGIN_PATH", ""))
os.environ["COLLECTOR_INTERVAL_FLOOR_MS"] = "100"


def dev(name):
    path = os.path.join(tmp, name + ".dev")
    return open(path).read().splitlines() if os.path.exists(path) else []


def pub(topic, payload, retain=False):
    mqttlib.publish(PORT, topic, payload, retain)


def outcomes(path, battery):
    return mqttlib.command_outcomes(path, P, battery)


conf = os.path.join(tmp, "c.conf")
with open(conf, "w") as f:
    f.write('collector = { state_dir = "%s"; control_socket = ""; };\n'
            'sources = ( { plugin = "t_switch"; name = "b1"; interval = 0.2; file = "%s/b1.dev";'
            ' control = ("charge", "discharge"); },\n'
            '            { plugin = "t_switch"; name = "b2"; interval = 0.2; file = "%s/b2.dev"; },\n'
            # b3, b1's partner in the bank, cannot discharge (its own protection)
            '            { plugin = "t_switch"; name = "b3"; interval = 0.2; flip_at = 1;'
            ' flip = "discharge"; } );\n'
            'calculators = ( { plugin = "bank"; members = ("b1", "b3"); } );\n'
            'sinks = ( { plugin = "mqtt"; host = "127.0.0.1"; port = %d; topic_prefix = "%s";'
            ' discovery = true; keepalive = 5; } );\n' % (tmp, tmp, tmp, PORT, P))

b = mqttlib.broker(run, PORT)
d = None
try:
    # a retained OFF left on the broker (by a tool, by mistake) before the daemon starts
    pub("%s/b1/charge/set" % P, "OFF", retain=True)
    sub, subfile = mqttlib.subscribe(run, PORT, "all")
    d = mqttlib.start_daemon(run, conf, "daemon")
    log = lambda: mqttlib.daemon_log(run, "daemon")  # noqa: E731

    rsub, rfile = mqttlib.subscribe(run, PORT, "retained", "homeassistant/#", retained_only=False)
    # every announcement the checks below look at (a slow machine, qemu, sends them late)
    wanted = ("homeassistant/switch/b1/charge_switch/config",
              "homeassistant/switch/b1/discharge_switch/config",
              "homeassistant/binary_sensor/b1/balancer_switch/config",
              "homeassistant/binary_sensor/b2/charge_switch/config")
    wait_for(lambda: all(w in dict(messages(rfile)) for w in wanted), 30)
    configs = {t: json.loads(p) for t, p in messages(rfile)}
    sw = configs.get("homeassistant/switch/b1/charge_switch/config", {})
    check("an allowed switch is an HA switch with its command topic and the read-back state",
          sw.get("command_topic") == "%s/b1/charge/set" % P and sw.get("payload_off") == "OFF"
          and sw.get("state_topic") == "%s/b1/state" % P
          and sw.get("value_template") == "{{ 'ON' if value_json.charge_switch else 'OFF' }}"
          and {"topic": "%s/status" % P} in sw.get("availability", []), sw)
    check("discharge (allowed) is a switch too",
          "homeassistant/switch/b1/discharge_switch/config" in configs, sorted(configs))
    check("disallowed switches are read-only binary_sensors",
          "homeassistant/binary_sensor/b1/balancer_switch/config" in configs
          and "homeassistant/binary_sensor/b2/charge_switch/config" in configs
          and not any(t.startswith("homeassistant/switch/b2/") for t in configs), sorted(configs))

    wait_for(lambda: "a retained command is ignored" in log(), 20)
    check("a retained OFF is ignored, in one line naming the topic",
          "%s/b1/charge/set: a retained command is ignored" % P in log()
          and not any(x.startswith("charge") for x in dev("b1")), (dev("b1"), log()[-600:]))

    wait_for(lambda: any(t == "%s/b3/state" % P and '"discharge_switch":false' in p
                         for t, p in messages(subfile)), 20)
    pub("%s/b1/charge/set" % P, "OFF")
    wait_for(lambda: outcomes(subfile, "b1"), 20)
    out = outcomes(subfile, "b1")
    check("ON/OFF on the command topic reaches the device once",
          dev("b1") == ["charge off applied"], dev("b1"))
    check("the outcome topic says confirmed, with what the device reports",
          out and out[0].get("outcome") == "confirmed" and out[0].get("origin") == "mqtt"
          and out[0].get("switch") == "charge" and out[0].get("requested") == "off"
          and "charge_switch off" in out[0].get("detail", ""), out)
    states = lambda: [json.loads(p) for t, p in messages(subfile) if t == "%s/b1/state" % P]  # noqa: E731
    ok = wait_for(lambda: states() and states()[-1].get("charge_switch") is False, 20)
    check("the state topic shows the BMS's read-back", ok, states()[-1:] if states() else None)
    check("the audit line says origin mqtt", "from mqtt: charge off: confirmed" in log(), log()[-600:])

    pub("%s/b2/charge/set" % P, "OFF")
    wait_for(lambda: outcomes(subfile, "b2"), 20)
    out = outcomes(subfile, "b2")
    check("a disallowed switch is refused on the outcome topic, the device receives nothing",
          out and out[0].get("outcome") == "refused"
          and "charge is not allowed on b2" in out[0].get("detail", "") and dev("b2") == [], out)

    pub("%s/b1/discharge/set" % P, "OFF")
    wait_for(lambda: any(o.get("switch") == "discharge" for o in outcomes(subfile, "b1")), 20)
    out = [o for o in outcomes(subfile, "b1") if o.get("switch") == "discharge"]
    check("an unsafe bank command is refused with the bank's reason, the device receives nothing",
          out and out[0].get("outcome") == "refused"
          and "would leave no fresh pack of the bank able to discharge (b3: off)" in out[0].get("detail", "")
          and not any(x.startswith("discharge") for x in dev("b1")), (out, dev("b1")))

    pub("%s/b1/charge/set" % P, "maybe")
    wait_for(lambda: "want ON or OFF" in log(), 20)
    check("a payload other than ON/OFF is ignored in one line", "want ON or OFF" in log()
          and dev("b1") == ["charge off applied"], dev("b1"))
    rsub.terminate()
    sub.terminate()
    d.send_signal(signal.SIGTERM)
    check("the daemon stops cleanly", d.wait(timeout=30) == 0, log()[-600:])
    d = None
finally:
    if d is not None:
        d.kill()
    b.terminate()
    b.wait()
run.finish()
