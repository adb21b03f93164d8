#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The mqtt sink against a real mosquitto on 127.0.0.1 (a free port, started
here): discovery configs, state JSON, last will, records queued while the
broker is down arriving after it is back, and TLS against a mosquitto with a
certificate made here (openssl), verified by a CA file. TAP."""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mqttlib  # noqa: E402
from mqttlib import DAEMON, MOSQUITTO, TOP_SRC, free_port, messages, port_open, wait_for  # noqa: E402

run = mqttlib.Run("mqtt-")
tmp = run.tmp
check = run.check
PORT = free_port()


def broker():
    # persistence keeps the durable test subscription across a restart
    return mqttlib.broker(run, PORT, "persistence true\npersistence_location %s/"
                          % os.path.dirname(run.broker_path("mosquitto.db")))


def subscribe(name, topic="#", retained_only=False, durable=False):
    return mqttlib.subscribe(run, PORT, name, topic, retained_only, durable)


def start_daemon(name, extra="", collector=""):
    return mqttlib.start_daemon(run, conf(name, extra, collector), name)


def daemon_log(name):
    return mqttlib.daemon_log(run, name)


def mapped(pid):
    """The shared objects a process maps."""
    with open("/proc/%d/maps" % pid) as f:
        return {os.path.basename(line.split()[-1]) for line in f if ".so" in line}


def conf(name, extra="", collector=""):
    path = os.path.join(tmp, name + ".conf")
    with open(path, "w") as f:
        f.write('collector = { state_dir = "%s"; %s };\n'
                'sources = ( { plugin = "jk_replay"; name = "battery1"; loop = true; interval = 0.2;'
                ' file = "%s"; address = "C8:47:8C:00:00:01"; } );\n'
                'calculators = ( { plugin = "soc_lifepo4"; } );\n'
                'sinks = ( { plugin = "mqtt"; host = "127.0.0.1"; port = %d; topic_prefix = "test/site1";'
                ' discovery = true; keepalive = 5; %s } );\n'
                % (tmp, collector, mqttlib.DEMO_HEX, PORT, extra))
    if "port =" in extra:  # a test that names its own broker
        text = open(path).read().replace("port = %d; " % PORT, "")
        open(path, "w").write(text)
    return path


b = broker()
sub, subfile = subscribe("all")
d = start_daemon("main")
ok = wait_for(lambda: sum(1 for t, _ in messages(subfile) if t == "test/site1/battery1/state") >= 3, 20)
states = [json.loads(p) for t, p in messages(subfile) if t == "test/site1/battery1/state"]
s0 = states[0] if states else {}
check("state JSON on <prefix>/<instance>/state with the record's values",
      ok and s0.get("battery_voltage") == 51.689 and s0.get("bms_cell_count") == 16
      and len(s0.get("cells", [])) == 16 and s0.get("battery_soc") is not None
      and s0.get("time", "").endswith("Z") and s0.get("device") == "C8:47:8C:00:00:01", s0)
# online once a record reaches the broker while still fresh (the host's rule:
# 3 x 0.2 s; the records kept while the sink connected arrive stale)
wait_for(lambda: "online" in [p for t, p in messages(subfile)
                              if t == "test/site1/battery1/availability"], 20)
avail = [p for t, p in messages(subfile) if t == "test/site1/battery1/availability"]
status = [p for t, p in messages(subfile) if t == "test/site1/status"]
check("availability online, daemon status online", "online" in avail and "online" in status,
      (avail[:3], status[:3]))

libs = mapped(d.pid)
check("without TLS files the sink maps Paho's plain build and no OpenSSL",
      any(x.startswith("libpaho-mqtt3a.so") for x in libs)
      and not any(x.startswith(("libssl", "libcrypto", "libpaho-mqtt3as")) for x in libs),
      sorted(libs))

# discovery: retained, so a new subscriber gets it at once
rsub, rfile = subscribe("retained", "homeassistant/#", retained_only=True)
wait_for(lambda: any(t.endswith("/cell_1/config") for t, _ in messages(rfile)), 30)
rsub.terminate()
configs = {t: json.loads(p) for t, p in messages(rfile)}
node = "C8_47_8C_00_00_01"
volt = configs.get("homeassistant/sensor/%s/battery_voltage/config" % node, {})
cell1 = configs.get("homeassistant/sensor/%s/cell_1/config" % node, {})
bal = configs.get("homeassistant/binary_sensor/%s/balancing/config" % node, {})
check("discovery: retained configs for voltage, each cell, balancing",
      volt.get("device_class") == "voltage" and volt.get("unit_of_measurement") == "V"
      and volt.get("state_class") == "measurement"
      and volt.get("state_topic") == "test/site1/battery1/state"
      and cell1.get("value_template") == "{{ value_json.cells[0] }}"
      and bal.get("payload_on") is True
      and "homeassistant/sensor/%s/cell_16/config" % node in configs, sorted(configs)[:6])
check("discovery: one device per battery with model, versions and the BLE address",
      volt.get("device", {}).get("identifiers") == [node]
      and volt["device"].get("model") == "JK_PB2A16S15P"
      and volt["device"].get("sw_version") == "14.20", volt.get("device"))
check("no '/' in object ids, availability bound to the last will",
      all("/" not in c.get("unique_id", "/") for c in configs.values())
      and {"topic": "test/site1/status"} in volt.get("availability", []), "")

# the last will: a killed daemon shows offline
d.send_signal(signal.SIGKILL)
d.wait()
ok = wait_for(lambda: ("test/site1/status", "offline") in messages(subfile), 15)
check("kill -9: the broker publishes the last will (offline)", ok)

# broker down mid-run: records are queued and arrive when it is back. The
# test's subscriber keeps a persistent session, so whatever the sink sends
# after the restart reaches it even if the sink reconnects first.
sub.terminate()
dsub, dfile = subscribe("after", "test/site1/battery1/state", durable=True)
d = start_daemon("outage")
wait_for(lambda: len(messages(dfile)) >= 3, 20)
dsub.terminate()  # the session stays on the broker (clean session off)
dsub.wait()
b.terminate()  # saves the session to its persistence file
b.wait()
down_at = time.time()
# about 15 records made with no broker to take them; their times have whole
# seconds, so the window below holds two whole seconds of them at least
time.sleep(3.0)
up_at = time.time()
b = broker()
dsub, dfile = subscribe("after", "test/site1/battery1/state", durable=True)
subfile = dfile
ok = wait_for(lambda: sum(1 for t, p in messages(dfile)
                          if down_at + 0.3 <= time.mktime(time.strptime(json.loads(p)["time"][:19],
                                                                         "%Y-%m-%dT%H:%M:%S")) - time.timezone <= up_at - 0.3) >= 4, 30)
times = []
for t, p in messages(subfile):
    if t.endswith("/state"):
        st = json.loads(p)
        times.append(time.mktime(time.strptime(st["time"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone)
during = [x for x in times if down_at + 0.3 <= x <= up_at - 0.3]
check("records made while the broker was down arrive after it is back",
      ok and len(during) >= 4, "%d messages, %d from the outage\n%s"
      % (len(times), len(during), daemon_log("outage")[-600:]))
d.terminate()
d.wait(timeout=30)
check("the daemon kept polling and stopped cleanly", d.returncode == 0, daemon_log("outage")[-300:])

# The broker away at shutdown: the sink says -EAGAIN, the host keeps the
# records, and at SIGTERM it counts what it could not deliver in one line.
# (Before ABI 1.1 the sink kept its own queue, dropped the oldest of it and
# logged at shutdown; queue_size is now the in-flight window.)
dsub.terminate()
d = start_daemon("small", "queue_size = 4;", "flush_timeout = 1;")
wait_for(lambda: "connected to" in daemon_log("small"), 10)
time.sleep(0.5)
b.terminate()
b.wait()
time.sleep(1.5)
d.terminate()
d.wait(timeout=30)
err = daemon_log("small")
lost = [line for line in err.splitlines() if "record(s) dropped" in line]
check("broker away at SIGTERM: the records not delivered are counted in one line by the host",
      d.returncode == 0 and len(lost) == 1 and "not delivered within 1 s" in lost[0]
      and int(lost[0].split(" - ")[-1].split()[0]) >= 5, err[-600:])
totals = re.findall(r"mqtt - \w+ - (\d+) record\(s\) received: (\d+) written, (\d+) dropped(.*)", err)
received, written, dropped, why = (int(totals[0][0]), int(totals[0][1]), int(totals[0][2]),
                                   totals[0][3]) if len(totals) == 1 else (0, 0, 0, "")
check("broker away at SIGTERM: one line of totals, received = written + dropped, with the "
      "reasons; no other count contradicts it",
      len(totals) == 1 and received == written + dropped and dropped >= 5
      and "not delivered within flush_timeout" in why and "never acknowledged" not in err.replace(why, "")
      and "record(s) written" not in err, err[-800:])

# TLS: a CA and a certificate for 127.0.0.1 made here, a TLS listener, and a
# sink that verifies the broker against the CA file.
# The files live where mosquitto, dropped to its own user, can read them.
tls = os.path.dirname(run.broker_path("ca.pem"))


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, cwd=tls,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=e2e test CA",
        "-keyout", "ca.key", "-out", "ca.pem")
openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=other CA",
        "-keyout", "other.key", "-out", "other.pem")
openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr")
with open(os.path.join(tls, "san.ext"), "w") as f:
    f.write("subjectAltName = IP:127.0.0.1\n")
openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "san.ext", "-out", "server.pem")
# mosquitto started as root reads these after it drops to its own user
for name in ("ca.pem", "server.pem", "server.key"):
    os.chmod(os.path.join(tls, name), 0o644)
TLS_PORT = free_port()
tconf = os.path.join(tmp, "tls.conf")
with open(tconf, "w") as f:
    f.write("listener %d 127.0.0.1\nallow_anonymous true\ncafile %s/ca.pem\ncertfile %s/server.pem\n"
            "keyfile %s/server.key\n" % (TLS_PORT, tls, tls, tls))
tb = subprocess.Popen([MOSQUITTO, "-c", tconf], stdout=open(os.path.join(tmp, "tls-broker.log"), "a"),
                      stderr=subprocess.STDOUT)
wait_for(lambda: port_open(TLS_PORT), 10)
tls_out = os.path.join(tmp, "tls-sub")
tsub = subprocess.Popen(["stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", str(TLS_PORT),
                         "--cafile", os.path.join(tls, "ca.pem"), "-v", "-t", "test/site1/#"],
                        stdout=open(tls_out, "a"), stderr=subprocess.DEVNULL)
time.sleep(0.3)
d = start_daemon("tls", 'port = %d; cafile = "%s/ca.pem";' % (TLS_PORT, tls))
ok = wait_for(lambda: sum(1 for t, _ in messages(tls_out) if t == "test/site1/battery1/state") >= 2, 20)
libs = mapped(d.pid)
d.terminate()
d.wait(timeout=30)
check("TLS: records reach a broker verified by cafile, over Paho's OpenSSL build",
      ok and d.returncode == 0 and any(x.startswith("libpaho-mqtt3as.so") for x in libs)
      and any(x.startswith("libssl") for x in libs), daemon_log("tls")[-400:])
states_before = sum(1 for t, _ in messages(tls_out) if t == "test/site1/battery1/state")
d = start_daemon("tls-wrong-ca", 'port = %d; cafile = "%s/other.pem";' % (TLS_PORT, tls))
wait_for(lambda: "certificate verify failed" in daemon_log("tls-wrong-ca"), 30)
d.terminate()
d.wait(timeout=30)
err = daemon_log("tls-wrong-ca")
states_after = sum(1 for t, _ in messages(tls_out) if t == "test/site1/battery1/state")
check("TLS: a broker the CA file does not vouch for gets nothing, and the log says so once",
      d.returncode == 0 and err.count("cannot connect yet (TLS: certificate verify failed)") == 1
      and "connected to" not in err
      and states_after == states_before,
      err[-400:])
d = subprocess.run([DAEMON, "-c", conf("tls-missing", 'cafile = "%s/nope.pem";' % tmp), "--check"],
                   stderr=subprocess.PIPE, text=True)
errline = d.stderr.strip().splitlines()
check("TLS: a cafile that cannot be read is a config error on one line naming it",
      d.returncode == 78 and len(errline) == 1 and "cafile" in errline[0] and "nope.pem" in errline[0],
      d.stderr)
tsub.terminate()
tb.terminate()
tb.wait()

run.finish()
