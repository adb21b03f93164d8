#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The inverter link end to end: collectord replays a real JK02_32S capture
(jk_replay), charge_limits computes the limits and the pylontech sink
answers an inverter of our own (pylon_client.py) on a pty pair at 9600
baud, or sends CAN frames to a unix SOCK_SEQPACKET stand-in. Replies decode
to the capture's values; bad checksums, unknown commands and foreign
addresses get the right RTN or silence; stale data silences the link (or
blocks it) and the link recovers; observe transmits nothing; --check opens
nothing. TAP."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tty

TOP_SRC = os.environ["top_srcdir"]
TOP_BUILD = os.environ["top_builddir"]
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "tools"))
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "plugins", "pylontech"))
from tap import Tap  # noqa: E402
from waiting import wait_for  # noqa: E402
import pylon_client as pc  # noqa: E402

DAEMON = os.path.join(TOP_BUILD, "core", "collectord")
UTIL = os.path.join(TOP_BUILD, "tools", "jkbms-util", "jkbms-util")
DATA = os.path.join(TOP_SRC, "tests", "data", "jk")
CAPTURE = os.path.join(DATA, "jk02_32s_v11_cell_info.hex")
EXPECTED = json.load(open(os.path.join(DATA, "jk02_32s_v11_cell_info.expected.json")))
tap = Tap()
check = tap.check
tmp = tempfile.mkdtemp(prefix="pylon-")
# the CAN bridges' sockets: in /tmp, not $TMPDIR (the build tree, deep under
# make distcheck): a unix socket path must fit in 108 bytes
stmp = tempfile.mkdtemp(prefix="pylon-can-", dir="/tmp")
daemons = []


def expected(field, index=None):
    for e in EXPECTED["expected"]:
        if e["field"] == field and e.get("index") == index:
            return e["value"]
    raise KeyError(field)


def write_conf(name, sink, loop=True, interval=0.2):
    conf = os.path.join(tmp, name + ".conf")
    with open(conf, "w") as f:
        f.write("""
collector = { interval = 5; log_level = "debug"; state_dir = "%s"; flush_timeout = 2; };
sources = ( { plugin = "jk_replay"; name = "battery1"; file = "%s"; protocol = "JK02_32S";
              loop = %s; interval = %s; } );
calculators = ( { plugin = "charge_limits"; } );
sinks = ( { plugin = "pylontech"; %s } );
""" % (tmp, CAPTURE, "true" if loop else "false", interval, sink))
    return conf


class Daemon:
    def __init__(self, conf):
        self.log = open(conf + ".log", "w+")
        self.conf = conf
        self.p = subprocess.Popen([DAEMON, "-c", conf], stderr=self.log, stdout=self.log)
        daemons.append(self)

    def text(self):
        self.log.flush()
        with open(self.conf + ".log") as f:
            return f.read()

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        return self.p.returncode


def pty_pair():
    master, slave = os.openpty()
    tty.setraw(master)
    return master, os.ttyname(slave), slave


def alive_reply(port, frame, seconds=10, good=lambda reply: True):
    """Ask until an answer comes (the daemon starting, the first record)
    that `good` accepts."""
    got = []
    wait_for(lambda: got.append(port.ask(frame, 0.5)) or (got[-1] is not None and good(got[-1])),
             seconds)
    return got[-1] if got else None


def enabled(reply):
    return pc.parse_management(pc.decode(reply)[4])["charge_enable"]


def rs485():
    master, path, slave = pty_pair()
    port = pc.Port(master)
    d = Daemon(write_conf("rs485", 'link = "rs485"; device = "%s"; baudrate = 9600;' % path))
    first = alive_reply(port, pc.request(0x4F))
    check("0x4F (protocol version) answered at ADR 2", first is not None and
          pc.decode(first)[3] == 0, first)

    # A Voltronic inverter in PYL mode: 0x4F, 0x42, 0x92.
    poll = pc.voltronic_poll(port)
    check("Voltronic poll: every reply framed right, both checksums, RTN 00",
          all(r is not None and r[3] == 0 for r in poll.values()), poll)
    a = pc.parse_analog(poll[0x42][4])
    cells_ok = all(abs(a["cells"][i - 1] - expected("cells", i)) < 0.0015 for i in (1, 2, 11, 16))
    check("0x42: 16 cells, the capture's voltages", len(a["cells"]) == 16 and cells_ok, a)
    check("0x42: pack voltage and current", abs(a["voltage"] - expected("total_voltage")) < 0.002
          and abs(a["current"] - expected("current")) < 0.1, a)
    check("0x42: the MOSFET probe, then the battery probes (0.1 K)",
          abs(a["temps"][0] - expected("mos_temp")) < 0.05 and
          abs(a["temps"][1] - expected("temperatures", 1)) < 0.05 and
          abs(a["temps"][2] - expected("temperatures", 2)) < 0.05, a["temps"])
    m = pc.parse_management(poll[0x92][4])
    # 16 cells at 17.7 C, highest cell 3.246 V: nothing below the maximum
    check("0x92: CVL 16 x 3.45 V, DVL 16 x 3.00 V, 100 A each way, both enabled, "
          "discharge limit negative",
          abs(m["cvl"] - 55.2) < 0.001 and abs(m["dvl"] - 48.0) < 0.001 and m["ccl"] == 100.0
          and m["dcl"] == -100.0 and m["charge_enable"] and m["discharge_enable"], m)

    # Every command, at VER 0x20 and 0x28.
    lengths = {0x4F: 0, 0x51: 32, 0x47: 24, 0x44: None, 0x93: 17, 0x96: 6, 0x60: 33,
               0x61: 49, 0x62: 4, 0x63: 9}
    bad = []
    for ver in (0x20, 0x28):
        for cid2, want in lengths.items():
            rep = port.ask(pc.request(cid2, 2, ver=ver))
            try:
                v, adr, _, rtn, info = pc.decode(rep)
                if rtn != 0 or v != ver or adr != 2 or (want is not None and len(info) != want):
                    bad.append((ver, hex(cid2), rtn, len(info)))
            except (pc.BadReply, TypeError, AttributeError) as e:
                bad.append((ver, hex(cid2), str(e)))
    check("all commands (4F 51 47 44 93 96 60 61 62 63) answered at VER 20 and 28", not bad, bad)
    grp = port.ask(pc.request(0x42, 2, info=b"\xff"))
    packs = pc.parse_analog_group(pc.decode(grp)[4]) if grp else []
    check("0x42 INFO FF: the group, one pack", len(packs) == 1 and len(packs[0]["cells"]) == 16,
          grp)

    # Errors.
    req = bytearray(pc.request(0x42))
    req[-2] = ord("0") if req[-2] != ord("0") else ord("1")  # a CHKSUM digit
    rep = port.ask(bytes(req))
    check("a bad checksum gets RTN 02", rep is not None and pc.decode(rep)[3] == 0x02, rep)
    rep = port.ask(pc.request(0x99))
    check("an unknown command gets RTN 04", rep is not None and pc.decode(rep)[3] == 0x04, rep)
    rep = port.ask(pc.request(0x42, 2, info=b"\x07"))
    check("a pack address we do not have gets RTN 90",
          rep is not None and pc.decode(rep)[3] == 0x90, rep)
    rep = port.ask(pc.request(0x42, 5), 0.7)
    check("a request for another device's address: not a byte", rep is None, rep)
    rep = port.ask(pc.request(0x42, ver=0x21))
    check("VER 0x21 gets RTN 01", rep is not None and pc.decode(rep)[3] == 0x01, rep)
    rep = port.ask(b"~2002464\r" + pc.request(0x4F))
    check("line noise before a frame does not stop the next answer",
          rep is not None and pc.decode(rep)[3] == 0, rep)

    # What the wire may bring: a request in pieces, a line longer than any
    # frame, and requests faster than the answers.
    def answers(data, seconds):
        os.write(master, data)
        got = port.drain(seconds)
        return [f + b"\r" for f in got.split(b"\r") if f]

    req = pc.request(0x92)
    os.write(master, req[:5])
    time.sleep(0.2)
    os.write(master, req[5:11])
    time.sleep(0.2)
    got = answers(req[11:], 1.0)
    check("a request split across reads is answered once, whole",
          len(got) == 1 and pc.decode(got[0])[3] == 0, got)
    got = answers(b"~" + b"2" * 10000 + b"\r" + b"\xff\x00garbage" + req, 1.0)
    check("a 10000-character line is dropped unanswered, the request after it answered",
          len(got) == 1 and pc.parse_management(pc.decode(got[0])[4])["cvl"] == 55.2, got)
    got = answers(req * 30, 3.0)
    check("30 requests in one write: 30 answers, each whole",
          len(got) == 30 and all(pc.decode(f)[3] == 0 for f in got), len(got))
    d.stop()
    os.close(master)
    os.close(slave)


def bank_conf(name, path, batteries):
    """A bank of battery1 and battery2 served over RS485 on `path`;
    `batteries`: (name, loop, interval) of each jk_replay source."""
    conf = os.path.join(tmp, name + ".conf")
    sources = ",\n".join(
        '  { plugin = "jk_replay"; name = "%s"; file = "%s"; protocol = "JK02_32S"; '
        'loop = %s; interval = %s; }' % (b, CAPTURE, "true" if loop else "false", iv)
        for b, loop, iv in batteries)
    with open(conf, "w") as f:
        f.write("""
collector = { interval = 5; log_level = "debug"; state_dir = "%s"; flush_timeout = 2; };
sources = (
%s );
calculators = ( { plugin = "bank"; members = ("battery1", "battery2"); },
                { plugin = "charge_limits"; } );
sinks = ( { plugin = "pylontech"; link = "rs485"; device = "%s"; } );
""" % (tmp, sources, path))
    return conf


def bank():
    """Two packs in parallel behind a bank, a third battery beside it: the
    sink serves the bank by default, each of its packs at its own address
    (the third at none), and the bank's limits at the first address."""
    master, path, slave = pty_pair()
    port = pc.Port(master)
    d = Daemon(bank_conf("bank", path, [("battery1", True, 0.2), ("battery2", True, 0.2),
                                         ("battery3", True, 0.2)]))
    both = alive_reply(port, pc.request(0x42, 2, info=b"\xff"), 10,
                       lambda r: len(pc.parse_analog_group(pc.decode(r)[4])) == 2)
    check("bank: the default source is the bank, its packs in configuration order",
          "serving the bank bank" in d.text() and both is not None and
          len(pc.parse_analog_group(pc.decode(both)[4])) == 2, d.text()[-500:])
    r3 = port.ask(pc.request(0x42, 3))
    check("bank: the second pack answers at ADR 3",
          r3 is not None and pc.parse_analog(pc.decode(r3)[4])["adr"] == 3, r3)
    time.sleep(0.5)  # every battery has reported since
    r4 = port.ask(pc.request(0x42, 4), 0.7)
    grp = port.ask(pc.request(0x42, 2, info=b"\xff"))
    check("bank: the battery outside the bank has no address (none at ADR 4), and is not in "
          "the group", r4 is None and grp is not None and
          len(pc.parse_analog_group(pc.decode(grp)[4])) == 2, (r4, grp))
    m2 = pc.parse_management(pc.decode(port.ask(pc.request(0x92, 2)))[4])
    m3 = pc.parse_management(pc.decode(port.ask(pc.request(0x92, 3)))[4])
    # two packs of 100 A: min(0.9 x 200, 2 x 100, 300) = 180 A for the bank
    check("bank: 0x92 at ADR 2 is the bank's (180 A), at ADR 3 the pack's own (100 A)",
          m2["ccl"] == 180.0 and m2["dcl"] == -180.0 and m3["ccl"] == 100.0, (m2, m3))
    d.stop()
    os.close(master)
    os.close(slave)


def rounding_on_the_wire():
    """Limits that are no whole step (16 x 3.4437 V = 55.0992 V, 33.37 A,
    16 x 3.0001 V = 48.0016 V) reach the inverter rounded to the safe side:
    CVL and the currents down, DVL up. The currents used to go out rounded
    half-up (33.4 A)."""
    master, path, slave = pty_pair()
    port = pc.Port(master)
    conf = write_conf("rounding", 'link = "rs485"; device = "%s";' % path)
    with open(conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text.replace('{ plugin = "charge_limits"; }',
                             '{ plugin = "charge_limits"; cell_charge_voltage = 3.4437; '
                             'cell_discharge_voltage = 3.0001; max_charge_current = 33.37; '
                             'max_discharge_current = 33.37; }'))
    d = Daemon(conf)
    rep = alive_reply(port, pc.request(0x92), 10)
    m = pc.parse_management(pc.decode(rep)[4]) if rep else {}
    rep63 = port.ask(pc.request(0x63))
    info = pc.decode(rep63)[4] if rep63 else b""
    check("rounding: 0x92 CVL 55.099 V, DVL 48.002 V, 33.3 A each way",
          m.get("cvl") == 55.099 and m.get("dvl") == 48.002 and m.get("ccl") == 33.3
          and m.get("dcl") == -33.3, m)
    check("rounding: 0x63 the same in 10 mA (3330)",
          len(info) == 9 and pc.u16(info, 0) == 55099 and pc.u16(info, 2) == 48002
          and pc.s16(info, 4) == 3330 and pc.s16(info, 6) == 3330, info.hex())
    d.stop()
    os.close(master)
    os.close(slave)


def bank_member_stops():
    """A pack of the bank stops (a one-frame capture, no loop) while the
    other goes on: its address refuses its data (RTN 91) and blocks its
    0x92, and the bank's limits count only the pack still fresh."""
    master, path, slave = pty_pair()
    port = pc.Port(master)
    d = Daemon(bank_conf("bank-stops", path, [("battery1", True, 0.2),
                                               ("battery2", False, 0.3)]))
    alive_reply(port, pc.request(0x92, 2), 10)
    gone = wait_for(lambda: "battery2 offline" in d.text(), 10)
    time.sleep(0.3)
    r42 = port.ask(pc.request(0x42, 3))
    m3 = pc.parse_management(pc.decode(port.ask(pc.request(0x92, 3)))[4])
    m2 = pc.parse_management(pc.decode(port.ask(pc.request(0x92, 2)))[4])
    check("a bank member stops: 0x42 at its address is refused (RTN 91)",
          gone and r42 is not None and pc.decode(r42)[3] == 0x91, r42)
    check("a bank member stops: 0x92 at its address is blocked (0.1 A, both off)",
          m3["ccl"] == 0.1 and not m3["charge_enable"] and not m3["discharge_enable"], m3)
    check("a bank member stops: the bank's limits count the other pack only (0.9 x 100 A)",
          m2["ccl"] == 90.0 and m2["dcl"] == -90.0 and m2["charge_enable"], m2)
    d.stop()
    os.close(master)
    os.close(slave)


def stale(mode):
    """The source stops (a one-frame capture without loop): within 3 x the
    interval the link goes silent (default) or blocks; a reload with a
    looping capture brings the data back and the link recovers."""
    master, path, slave = pty_pair()
    port = pc.Port(master)
    sink = 'link = "rs485"; device = "%s";%s' % (path, ' on_stale = "block";' if mode else "")
    conf = write_conf("stale-%s" % (mode or "silent"), sink, loop=False, interval=0.3)
    d = Daemon(conf)
    first = alive_reply(port, pc.request(0x92), 10)
    check("%s: the first record is served" % (mode or "silent"),
          first is not None and pc.parse_management(pc.decode(first)[4])["charge_enable"], first)
    # one record only: stale 0.9 s after it
    t0 = time.monotonic()
    gone = wait_for(lambda: "no fresh record" in d.text(), 10)
    if mode is None:
        rep = port.ask(pc.request(0x92), 1.0)
        rep2 = port.ask(pc.request(0x4F), 1.0)
        check("silent: stale data gets no answer at all, and one line says so",
              gone and rep is None and rep2 is None and d.text().count("no fresh record") == 1,
              (rep, rep2))
    else:
        rep = port.ask(pc.request(0x92), 1.0)
        m = pc.parse_management(pc.decode(rep)[4]) if rep else {}
        r42 = port.ask(pc.request(0x42), 1.0)
        r47 = port.ask(pc.request(0x47), 1.0)
        check("block: 0x92 answers with charge and discharge disabled, 0.1 A",
              gone and m.get("charge_enable") is False and m.get("discharge_enable") is False
              and m.get("ccl") == 0.1, m)
        s = pc.parse_sysparam(pc.decode(r47)[4]) if r47 else {}
        check("block: 0x47's current limits are the blocked 0.1 A, not the last live ones",
              s.get("ccl") == 0.1 and s.get("dcl") == 0.1, s)
        check("block: 0x42 is refused (RTN 91), stale values never served as live",
              r42 is not None and pc.decode(r42)[3] == 0x91, r42)
    check("%s: stale within 3 x interval (+ scheduling slack)" % (mode or "silent"),
          gone and time.monotonic() - t0 < 6, time.monotonic() - t0)
    # data returns: the same sink, a looping source
    with open(conf) as f:
        text = f.read().replace("loop = false", "loop = true")
    with open(conf, "w") as f:
        f.write(text)
    d.p.send_signal(signal.SIGHUP)
    back = alive_reply(port, pc.request(0x92), 10, enabled)
    check("%s: the link recovers when data returns, one line says so" % (mode or "silent"),
          back is not None and pc.parse_management(pc.decode(back)[4])["charge_enable"]
          and "fresh data: serving" in d.text(), d.text()[-600:])
    d.stop()
    os.close(master)
    os.close(slave)


def never_reads():
    """An inverter that floods requests and reads no answer: the sink drops
    what the port takes no more of (one line), the pipeline never waits on
    the wire, and SIGTERM stops the daemon within flush_timeout (2 s), not
    after one 2 s wait per queued request."""
    master, path, slave = pty_pair()
    port = pc.Port(master)
    d = Daemon(write_conf("never-reads", 'link = "rs485"; device = "%s";' % path))
    first = alive_reply(port, pc.request(0x4F))
    os.set_blocking(master, False)
    burst = pc.request(0x42) * 20
    end = time.monotonic() + 20
    while time.monotonic() < end and "takes no more" not in d.text():
        try:
            os.write(master, burst)
        except BlockingIOError:
            time.sleep(0.05)
    check("never reads: the full port is said once, the answers dropped",
          first is not None and d.text().count("RS485 link takes no more") == 1, d.text()[-400:])
    t0 = time.monotonic()
    rc = d.stop()
    took = time.monotonic() - t0
    check("never reads: SIGTERM stops the daemon cleanly within flush_timeout + 3 s",
          rc == 0 and took < 5, (rc, took))
    os.close(master)
    os.close(slave)


def can_never_reads():
    """A CAN bridge that accepts and reads nothing: once the socket's
    buffer is full, each period is dropped (one line) and SIGTERM stops the
    daemon at once; it used to wait 2 s for each of the period's frames."""
    srv, path = can_server()
    d = Daemon(write_conf("can-never-reads", 'link = "can"; interface = "unix:%s"; '
                                             'period = 0.1;' % path))
    srv.settimeout(10)
    conn, _ = srv.accept()
    full = wait_for(lambda: "CAN link takes no more" in d.text() or
                    "write to the CAN link failed" in d.text(), 30)
    t0 = time.monotonic()
    rc = d.stop()
    took = time.monotonic() - t0
    check("CAN never read: SIGTERM stops the daemon cleanly within flush_timeout + 3 s",
          full and rc == 0 and took < 5, (full, rc, took, d.text()[-300:]))
    conn.close()
    srv.close()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def can_peer_gone():
    """The CAN bridge closes its end: the serving thread waits instead of
    spinning on POLLHUP (it used to burn a core until the daemon stopped)."""
    srv, path = can_server()
    # one record every 5 s (fresh for 15): the daemon has little else to do
    d = Daemon(write_conf("can-gone", 'link = "can"; interface = "unix:%s"; period = 0.5;'
                                      % path, interval=5))
    srv.settimeout(10)
    conn, _ = srv.accept()
    got = []
    wait_for(lambda: got.extend(can_period(conn, 0.2)) or got, 10)
    conn.close()
    srv.close()
    wait_for(lambda: "CAN link takes no more" in d.text(), 5)
    before = cpu_seconds(d.p.pid)
    time.sleep(2)
    used = cpu_seconds(d.p.pid) - before
    check("CAN bridge gone: said once, and the daemon idles (%.2f s CPU in 2 s)" % used,
          got and d.text().count("CAN link takes no more") == 1 and used < 1.0, d.text()[-300:])
    check("CAN bridge gone: SIGTERM still stops it cleanly", d.stop() == 0)


def can_server():
    path = os.path.join(stmp, "can-%d.sock" % len(daemons))
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    srv.bind(path)
    srv.listen(1)
    return srv, path


def can_period(conn, seconds):
    """Frames received within `seconds`: a list of (id, data)."""
    got = []
    conn.settimeout(0.1)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            pkt = conn.recv(64)
        except socket.timeout:
            continue
        if not pkt:
            break
        got.append(pc.can_unpack(pkt))
    return got


def can():
    srv, path = can_server()
    d = Daemon(write_conf("can", 'link = "can"; interface = "unix:%s"; period = 0.25; '
                                 'manufacturer = "PYLONDIY";' % path))
    srv.settimeout(10)
    conn, _ = srv.accept()
    frames = []
    wait_for(lambda: frames.extend(can_period(conn, 0.3)) or
             len({i for i, _ in frames}) == 6, 10)
    frames = can_period(conn, 1.1)
    ids = [i for i, _ in frames]
    check("CAN: the six frames each period (0x351 0x355 0x356 0x359 0x35C 0x35E)",
          set(ids) == {0x351, 0x355, 0x356, 0x359, 0x35C, 0x35E} and 3 <= ids.count(0x351) <= 6,
          ids)
    last = {}
    for i, data in frames:
        last[i] = data
    v = pc.can_fields(last)
    check("CAN: limits scaled and little-endian (55.2 V, 100 A, 100 A, 48.0 V, enabled)",
          v.get("cvl") == 55.2 and v.get("ccl") == 100.0 and v.get("dcl") == 100.0
          and v.get("dvl") == 48.0 and v.get("charge_enable") and v.get("discharge_enable"), v)
    # the hottest of every probe the record has (jkbms-util decodes the same frame)
    rec = json.loads(subprocess.run([UTIL, "--decode", CAPTURE, "--json"], capture_output=True,
                                    text=True, timeout=30).stdout.splitlines()[0])
    hottest = max(rec["temperatures"] + [rec["mos_temperature"]])
    check("CAN: SOC, voltage (10 mV, cut), current, hottest probe of the capture",
          v.get("soc") == expected("soc") and abs(v["voltage"] - 51.68) < 1e-9
          and v["current"] == 0.0 and abs(v["temperature"] - hottest) < 0.05, (v, hottest))
    check("CAN: the manufacturer string as set, 'PN' and one pack in 0x359",
          v.get("manufacturer") == "PYLONDIY" and v.get("pn") == b"PN" and v.get("packs") == 1, v)
    # the inverter's keepalive comes, then stops: one line each
    for _ in range(3):
        conn.send(pc.can_pack(0x305, b"\0" * 8))
        time.sleep(0.2)
    check("CAN: the inverter's keepalive is noticed", wait_for(
        lambda: "keepalive (0x305) arrives" in d.text(), 5), d.text()[-400:])
    check("CAN: a keepalive that stops is said once",
          wait_for(lambda: "keepalive (0x305) stopped" in d.text(), 20), d.text()[-400:])
    d.stop()
    conn.close()
    srv.close()


def can_stale_and_observe():
    srv, path = can_server()
    d = Daemon(write_conf("can-stale", 'link = "can"; interface = "unix:%s"; period = 0.2;'
                                       % path, loop=False, interval=0.3))
    srv.settimeout(10)
    conn, _ = srv.accept()
    wait_for(lambda: "no fresh record" in d.text(), 10)
    conn.settimeout(0.1)
    while True:  # what was queued before the line
        try:
            conn.recv(64)
        except socket.timeout:
            break
    after = can_period(conn, 1.0)
    check("CAN stale: no frame after staleness", after == [], after)
    d.stop()
    conn.close()
    srv.close()

    srv, path = can_server()
    d = Daemon(write_conf("can-observe", 'link = "can"; interface = "unix:%s"; period = 0.2; '
                                         'observe = true;' % path))
    srv.settimeout(10)
    conn, _ = srv.accept()
    seen = wait_for(lambda: "observe: would send CVL 55.20 V" in d.text(), 10)
    got = can_period(conn, 1.0)
    check("CAN observe: logs what it would send, transmits nothing", seen and got == [],
          (got, d.text()[-400:]))
    d.stop()
    conn.close()
    srv.close()

    master, path, slave = pty_pair()
    d = Daemon(write_conf("rs485-observe", 'link = "rs485"; device = "%s"; observe = true;'
                                           % path))
    port = pc.Port(master)
    wait_for(lambda: "serving" in d.text(), 10)
    time.sleep(0.5)
    rep = [port.ask(pc.request(c), 0.5) for c in (0x4F, 0x42, 0x92)]
    check("RS485 observe: requests read and answered in the log only, not a byte on the wire",
          rep == [None, None, None] and "observe: would send CVL 55.20 V" in d.text(),
          (rep, d.text()[-400:]))
    d.stop()
    os.close(master)
    os.close(slave)


def check_only():
    conf = write_conf("check", 'link = "rs485"; device = "/dev/ttyPYLON-absent";')
    r = subprocess.run([DAEMON, "-c", conf, "--check"], capture_output=True, text=True,
                       timeout=30)
    check("--check: a serial port that does not exist is not opened (exit 0)",
          r.returncode == 0, r.stderr)
    conf = write_conf("check-baud", 'link = "rs485"; device = "/dev/ttyS9"; baudrate = 1234;')
    r = subprocess.run([DAEMON, "-c", conf, "--check"], capture_output=True, text=True,
                       timeout=30)
    check("--check: baudrate 1234 refused with file:line", r.returncode == 78 and
          "baudrate" in r.stderr and ".conf:" in r.stderr, r.stderr)
    conf = write_conf("check-can", 'link = "can"; interface = "can0/x";')
    r = subprocess.run([DAEMON, "-c", conf, "--check"], capture_output=True, text=True,
                       timeout=30)
    check("--check: a malformed CAN interface refused", r.returncode == 78 and
          "interface" in r.stderr, r.stderr)
    conf = write_conf("check-src", 'link = "can"; source = "nosuch";')
    r = subprocess.run([DAEMON, "-c", conf, "--check"], capture_output=True, text=True,
                       timeout=30)
    check("--check: a source that is not configured refused", r.returncode == 78 and
          "nosuch" in r.stderr, r.stderr)


def epilogue():
    return "\n".join(d.text()[-1500:] for d in daemons[-2:])


tap.run(check_only, rs485, rounding_on_the_wire, bank, bank_member_stops, lambda: stale(None), lambda: stale("block"), never_reads,
        can_never_reads, can_peer_gone, can,
        can_stale_and_observe, cleanup=[lambda: [d.stop() for d in daemons],
                                        lambda: shutil.rmtree(stmp, ignore_errors=True)],
        epilogue=epilogue)
