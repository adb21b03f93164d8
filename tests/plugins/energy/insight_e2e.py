#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""energy and bank inside collectord, on the real captures replayed by
jk_replay (with a constant load set by the test calculator t_load: the
captures were taken at 0 A), read back from the mqtt sink's state JSON (it carries each
record's time to the millisecond) through a mosquitto started here on
127.0.0.1. energy: the total equals the integral of the captures' power
within 1 %, a pause of the daemon (SIGSTOP) is a gap that is not integrated,
and the totals continue across SIGTERM + start and across a SIGHUP reload.
bank: sums, weights and extremes against the members' own records; a member
whose capture ends goes stale and drops out. Prints TAP."""
import calendar
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

TOP_SRC = os.environ["top_srcdir"]
TOP_BUILD = os.environ["top_builddir"]
DAEMON = os.path.join(TOP_BUILD, "core", "collectord")
MOSQUITTO = os.environ.get("MOSQUITTO_BIN") or "/usr/sbin/mosquitto"
PB16 = os.path.join(TOP_SRC, "etc", "demo", "jk_pb2a16s15p.hex")
B24 = os.path.join(TOP_SRC, "etc", "demo", "jk_b2a24s20p.hex")
LOAD_DIR = os.path.join(TOP_BUILD, "tests", "plugins", "energy", "plugins")
LOAD = '{ plugin = "t_load"; current = -20.0; }, '  # the captures were taken at 0 A
INTERVAL = 0.2
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "tools"))
from ports import free_port, port_open  # noqa: E402
from tap import Tap  # noqa: E402
from waiting import wait_for  # noqa: E402
tap = Tap()
check = tap.check


class Broker:
    """mosquitto on a free 127.0.0.1 port, and one subscriber writing every
    state message to a file."""

    def __init__(self, tmp):
        self.port = free_port()
        conf = os.path.join(tmp, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\n" % self.port)
        self.broker = subprocess.Popen([MOSQUITTO, "-c", conf], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        wait_for(lambda: port_open(self.port), 10)
        self.path = os.path.join(tmp, "states.txt")
        self.sub = subprocess.Popen(["stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p",
                                     str(self.port), "-v", "-t", "e2e/#"],
                                    stdout=open(self.path, "w"), stderr=subprocess.DEVNULL)
        time.sleep(0.3)

    def states(self, prefix, source):
        out = []
        with open(self.path, errors="replace") as f:
            for line in f:
                topic, _, payload = line.rstrip("\n").partition(" ")
                if topic == "e2e/%s/%s/state" % (prefix, source):
                    s = json.loads(payload)
                    t = time.strptime(s["time"][:19], "%Y-%m-%dT%H:%M:%S")
                    s["t"] = calendar.timegm(t) + float(s["time"][19:-1])
                    out.append(s)
        return out

    def close(self):
        for p in (self.sub, self.broker):
            p.terminate()
            p.wait()


def write_conf(path, tmp, port, sources, calculators):
    prefix = os.path.splitext(os.path.basename(path))[0]
    src = ",\n".join('{ plugin = "jk_replay"; name = "%s"; file = "%s"; loop = %s; '
                     'interval = %s; }' % s for s in sources)
    with open(path, "w") as f:
        f.write('collector = { state_dir = "%s"; plugin_dir = "%s"; };\nsources = (\n%s\n);\n'
                'calculators = ( %s );\n'
                'sinks = ( { plugin = "mqtt"; host = "127.0.0.1"; port = %d; '
                'topic_prefix = "e2e/%s"; discovery = false; } );\n'
                % (tmp, LOAD_DIR, src, calculators, port, prefix))


def start(conf, log):
    return subprocess.Popen([DAEMON, "-c", conf], stderr=open(log, "a"))


def stop(d):
    d.send_signal(signal.SIGTERM)
    return d.wait(timeout=30)


def integral_kwh(states):
    """Trapezoids of the records' own power over their own times; a step
    longer than 3 intervals is a gap (not counted)."""
    total = 0.0
    for a, b in zip(states, states[1:]):
        dt = b["t"] - a["t"]
        if 0 < dt <= 3 * INTERVAL:
            total += -(a["battery_power"] + b["battery_power"]) / 2 * dt / 3.6e6
    return total


def within(a, b, rel):
    return abs(a - b) <= rel * max(abs(a), abs(b))


def energy(tmp, broker):
    conf = os.path.join(tmp, "energy.conf")
    log = os.path.join(tmp, "energy.log")
    sources = [("battery1", PB16, "true", INTERVAL)]
    write_conf(conf, tmp, broker.port, sources, LOAD + '{ plugin = "energy"; save_interval = 1; }')
    d = start(conf, log)
    wait_for(lambda: len(broker.states("energy", "battery1")) >= 10, 30)
    for _ in range(2):  # two pauses of the whole daemon: two gaps
        d.send_signal(signal.SIGSTOP)
        time.sleep(1.0)
        d.send_signal(signal.SIGCONT)
        n = len(broker.states("energy", "battery1"))
        wait_for(lambda: len(broker.states("energy", "battery1")) >= n + 5, 30)
    rc = stop(d)
    run1 = broker.states("energy", "battery1")
    check("energy: daemon runs and stops cleanly", rc == 0 and len(run1) >= 20,
          open(log).read()[-800:])
    powers = {s["battery_power"] for s in run1}
    total = run1[-1]["energy_discharged_kwh"] - run1[0]["energy_discharged_kwh"]
    expect = integral_kwh(run1)
    check("energy: the replayed capture under t_load discharges at constant power",
          len(powers) == 1 and next(iter(powers)) < 0, powers)
    check("energy: total after %d records = integral of the power within 1 %%" % len(run1),
          expect > 0 and within(total, expect, 0.01), (total, expect))
    span = -run1[0]["battery_power"] * (run1[-1]["t"] - run1[0]["t"]) / 3.6e6
    check("energy: the two pauses (gaps) are not integrated",
          total < span - 1.5 * -run1[0]["battery_power"] / 3.6e6, (total, span))
    check("energy: nothing charged while discharging",
          all(s["energy_charged_kwh"] == 0 for s in run1))
    text = open(log).read()
    check("energy: the gap is logged once",
          text.count("without a record (more than 3 x its interval)") == 1
          and "2 gap(s) longer than 3 x" in text, text[-800:])

    # SIGTERM + start: continues from the state file
    d = start(conf, log)
    wait_for(lambda: len(broker.states("energy", "battery1")) >= len(run1) + 10, 30)
    after = broker.states("energy", "battery1")[len(run1):]
    first, last1 = after[0]["energy_discharged_kwh"], run1[-1]["energy_discharged_kwh"]
    bridge = -after[0]["battery_power"] * (after[0]["t"] - run1[-1]["t"]) / 3.6e6
    # the state JSON's times have millisecond precision: allow 2 ms of power
    slack = -after[0]["battery_power"] * 0.002 / 3.6e6
    check("energy: after SIGTERM and start the total continues, not restarts",
          last1 <= first <= last1 + bridge + slack, (last1, first, bridge))
    check("energy: and integrates on within 1 %",
          within(after[-1]["energy_discharged_kwh"] - first, integral_kwh(after), 0.01))

    # SIGHUP with a changed setting: the instance is stopped and started again
    n = len(broker.states("energy", "battery1"))
    write_conf(conf, tmp, broker.port, sources, LOAD + '{ plugin = "energy"; save_interval = 2; }')
    d.send_signal(signal.SIGHUP)
    wait_for(lambda: len(broker.states("energy", "battery1")) >= n + 10, 30)
    rc = stop(d)
    run2 = broker.states("energy", "battery1")[len(run1):]
    totals = [s["energy_discharged_kwh"] for s in run2]
    text = open(log).read()
    check("energy: SIGHUP reloaded the changed instance",
          rc == 0 and "instance(s) kept, 1 started" in text, text[-600:])
    check("energy: across the reload the total never goes backwards",
          all(b >= a for a, b in zip(totals, totals[1:])) and totals[-1] > totals[0], totals)
    check("energy: and still equals the integral within 1 % (reload included)",
          within(totals[-1] - totals[0], integral_kwh(run2), 0.01),
          (totals[-1] - totals[0], integral_kwh(run2)))


def after_stale(bank_states, member_states):
    """The bank's records made after the member's last one, once the bank
    counts it offline (the bank decides when: 3 x its interval, measured
    on the records' own times, which the test cannot see exactly)."""
    if not member_states:
        return []
    return [s for s in bank_states
            if s["t"] > member_states[-1]["t"] + 3 * INTERVAL and s["members_online"] == 1]


def bank(tmp, broker):
    conf = os.path.join(tmp, "bank.conf")
    log = os.path.join(tmp, "bank.log")
    # battery2's capture ends (loop = false): it goes stale and drops out
    write_conf(conf, tmp, broker.port,
               [("battery1", PB16, "true", INTERVAL), ("battery2", B24, "false", INTERVAL)],
               LOAD + '{ plugin = "soc_lifepo4"; }, '
               '{ plugin = "bank"; name = "bank"; members = ("battery1", "battery2"); }')
    d = start(conf, log)
    wait_for(lambda: len(after_stale(broker.states("bank", "bank"),
                                  broker.states("bank", "battery2"))) >= 3, 30)
    rc = stop(d)
    b1, b2, bk = broker.states("bank", "battery1"), broker.states("bank", "battery2"), broker.states("bank", "bank")
    check("bank: runs, both members and the bank publish", rc == 0 and b1 and b2 and bk,
          open(log).read()[-800:])
    if not (b1 and b2 and bk):
        return
    m1, m2 = b1[0], b2[-1]
    both = [s for s in bk if s["members_online"] == 2]
    one = after_stale(bk, b2)
    check("bank: a record with both members online", both and both[0]["members_total"] == 2, bk[:3])
    if both:
        s = both[-1]
        cap1, cap2 = m1["capacity_nominal_ah"], m2["capacity_nominal_ah"]
        soc = (m1["battery_soc"] * cap1 + m2["battery_soc"] * cap2) / (cap1 + cap2)
        check("bank: current and power are the members' sums",
              within(s["battery_current"], m1["battery_current"] + m2["battery_current"], 1e-6)
              and within(s["battery_power"], m1["battery_power"] + m2["battery_power"], 1e-6),
              (s, m1["battery_current"], m2["battery_current"]))
        check("bank: voltage the mean, remaining capacity the sum",
              within(s["battery_voltage"], (m1["battery_voltage"] + m2["battery_voltage"]) / 2,
                     1e-6)
              and within(s["capacity_remaining_ah"],
                         m1["capacity_remaining_ah"] + m2["capacity_remaining_ah"], 1e-6), s)
        check("bank: SOC weighted by capacity (%.1f and %.1f Ah)" % (cap1, cap2),
              cap1 != cap2 and within(s["battery_soc"], soc, 1e-6), (s["battery_soc"], soc))
        check("bank: cell extremes across both packs' cells",
              within(s["bms_cell_min_v"], min(min(m1["cells"]), min(c for c in m2["cells"] if c)),
                     1e-9)
              and within(s["bms_cell_max_v"], max(max(m1["cells"]), max(m2["cells"])), 1e-9)
              and within(s["bms_cell_delta_v"], s["bms_cell_max_v"] - s["bms_cell_min_v"], 1e-6),
              s)
    check("bank: battery2's capture ended, it went stale and dropped out of the sums",
          one and all(within(s["battery_current"], m1["battery_current"], 1e-9)
                      and within(s["battery_soc"], m1["battery_soc"], 1e-9) for s in one)
          and "battery2 offline" in open(log).read(), (len(one), open(log).read()[-600:]))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(tmp)
        tap.run(lambda: energy(tmp, broker), lambda: bank(tmp, broker), cleanup=[broker.close])


if __name__ == "__main__":
    main()
