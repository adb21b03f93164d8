#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A simulated JK BMS peripheral: a GATT server speaking real ATT PDUs over an
AF_UNIX SOCK_SEQPACKET socket (one PDU per packet), serving captured frames.

  jk_sim.py --socket PATH --device-info HEX --cell-info HEX [--layout old|new|jk04]
            [--split 20|128|150|tailhead|random] [--fault NAME] [--faulty N]
            [--connections N] [--peer-mtu-req] [--dup-mtu] [--log FILE]
            [--address-type public|random] [--connect-error ERRNO_NAME|hangup]
            [--firmware-change-at N] [--protocol JK02_24S|JK02_32S|JK04]
            [--stubborn] [--no-ack] [--spontaneous SWITCH=on|off@SECONDS]

Layouts are the three GATT databases JK modules have (jk-ble-protocol.md 1):
old (FFE2 write + FFE1 write/notify), new (two FFE1: write-only then
notify-only), jk04 (FFE1 write/notify, FFE2, FFE3). Faults, applied to the
first --faulty connections: disconnect_mid_frame, bad_checksum, silence,
att_error (the CCCD write is refused), settings_first, slow.

Each connection opens as the unix transport's stand-in for the kernel's LE
connect (plugins/libble/transport.c): the client sends 00 <type> <address>,
we answer 00 <errno LE16> (0: connected). A connect with the other address
type than --address-type gets no answer, as the kernel never completes one;
--connect-error answers with that errno (EHOSTUNREACH, ENOSYS for HCI 0x3E,
...) or, for "hangup", closes without a word (on the first --faulty
connections, or all when --faulty is 0). --firmware-change-at N: from the
Nth connection the device info reports another software version.

The write path (switch commands, docs/control.md): a 20-byte write to a
switch register (JK02 0x1D charge, 0x1E discharge, 0x1F balancer, length 4;
JK04 0x6C balancer, length 1) is checked byte for byte (preamble, length,
value, zero padding, sum8): a wrong one is logged ("rejected ...") and
ignored, a right one logged ("write charge off"), acknowledged (on the old
layout followed by "AT\r\n" in the same notification, as fw 15.41 does), and shown in
the settings frame (bytes 118/122/126, JK04 114) and the cell-info MOSFET
bytes (24S 166/167, 32S 198/199) of this and later connections. The state
starts as the captured cell-info frame has it (flags = MOSFETs, balancer on).
--stubborn acknowledges and keeps the old state; --no-ack neither
acknowledges nor applies. --spontaneous changes a
switch by itself SECONDS after the simulator started (the phone app, a
protection). A settings request (0x96) after a write is answered with the
settings frame and, shortly after, a fresh cell-info frame.
"""
import errno
import argparse
import os
import random
import socket
import struct
import sys
import threading
import time

ACK = bytes.fromhex("aa5590ebc80101000000000000000000000000" "44")

SWITCHES = ("charge", "discharge", "balancer")
# register -> (switch, value length), per variant
REGISTERS = {
    "JK02_24S": {0x1D: ("charge", 4), 0x1E: ("discharge", 4), 0x1F: ("balancer", 4)},
    "JK02_32S": {0x1D: ("charge", 4), 0x1E: ("discharge", 4), 0x1F: ("balancer", 4)},
    "JK04": {0x6C: ("balancer", 1)},
}
FLAG_OFFSETS = {"JK02_24S": {"charge": 118, "discharge": 122, "balancer": 126},
                "JK02_32S": {"charge": 118, "discharge": 122, "balancer": 126},
                "JK04": {"balancer": 114}}
MOSFET_OFFSETS = {"JK02_24S": {"charge": 166, "discharge": 167},
                  "JK02_32S": {"charge": 198, "discharge": 199}, "JK04": {}}


class Switches:
    """The BMS's switch state, shared by every connection of one simulator."""

    def __init__(self, args):
        self.protocol = args.protocol
        self.lock = threading.Lock()
        cell = args.cell_frame
        mos = MOSFET_OFFSETS[self.protocol]
        self.flag = {s: (cell[mos[s]] if s in mos else 1) for s in SWITCHES}
        self.mosfet = {s: cell[mos[s]] for s in mos}
        self.started = time.monotonic()
        self.pending = []  # spontaneous changes: (at, switch, value)
        for spec in args.spontaneous:
            what, at = spec.split("@")
            name, value = what.split("=")
            self.pending.append((float(at), name, 1 if value == "on" else 0))

    def tick(self, log):
        """Apply the spontaneous changes that are due."""
        now = time.monotonic() - self.started
        with self.lock:
            for item in [p for p in self.pending if p[0] <= now]:
                self.pending.remove(item)
                self.set(item[1], item[2])
                log.write("spontaneous %s %s\n" % (item[1], "on" if item[2] else "off"))

    def set(self, name, value):
        self.flag[name] = value
        if name in self.mosfet:
            self.mosfet[name] = value

    def check_write(self, value):
        """The switch and value of a valid write frame, or (None, why)."""
        regs = REGISTERS[self.protocol]
        reg = value[4]
        if reg not in regs:
            return None, "register %02x is no switch of a %s" % (reg, self.protocol)
        name, length = regs[reg]
        if value[5] != length:
            return None, "length %d, want %d" % (value[5], length)
        if value[6] not in (0, 1) or any(value[7:19]):
            return None, "value or padding not 0/1 and zeros: %s" % value[6:19].hex()
        if sum(value[:19]) & 0xFF != value[19]:
            return None, "bad checksum %02x, want %02x" % (value[19], sum(value[:19]) & 0xFF)
        return name, value[6]

    def patch_settings(self, f):
        for name, off in FLAG_OFFSETS[self.protocol].items():
            f[off] = self.flag[name]

    def patch_cell(self, f):
        for name, off in MOSFET_OFFSETS[self.protocol].items():
            f[off] = self.mosfet[name]


def u16(v):
    return struct.pack("<H", v)


def uuid16(v):
    return u16(v)


def load_hex(path):
    text = "".join(line.split("#")[0] for line in open(path))
    return bytes.fromhex("".join(text.split()))


def build_db(layout):
    """Attributes: handle -> (type uuid16, value bytes, properties or None)."""
    db = {}
    def service(h, uuid):
        db[h] = (0x2800, uuid16(uuid), None)
    def char(decl, props, uuid, cccd=False):
        db[decl] = (0x2803, bytes([props]) + u16(decl + 1) + uuid16(uuid), None)
        db[decl + 1] = (uuid, b"", props)
        if cccd:
            db[decl + 2] = (0x2902, b"\x00\x00", None)
    if layout == "old":
        service(0x0001, 0x1800)
        char(0x0002, 0x02, 0x2A00)
        service(0x000E, 0xFFE0)
        char(0x000F, 0x04, 0xFFE2)
        char(0x0011, 0x1C, 0xFFE1, cccd=True)     # value 0x0012, CCCD 0x0013
        service(0x0014, 0x180F)
        char(0x0015, 0x12, 0x2A19, cccd=True)
    elif layout == "new":
        service(0x0001, 0xFFE0)
        char(0x0002, 0x0C, 0xFFE1)                # write-only FFE1 at 0x0003
        char(0x0004, 0x12, 0xFFE1, cccd=True)     # notify-only FFE1 at 0x0005, CCCD 0x0006
    else:  # jk04 balancer
        service(0x0001, 0x1800)
        char(0x0002, 0x02, 0x2A00)
        service(0x0008, 0xFFE0)
        char(0x0009, 0x1C, 0xFFE1, cccd=True)     # 0x000A, CCCD 0x000B
        char(0x000C, 0x1C, 0xFFE2, cccd=True)
        char(0x000F, 0x0C, 0xFFE3)
    return db


def service_ranges(db):
    starts = sorted(h for h, a in db.items() if a[0] == 0x2800)
    ranges = []
    for i, s in enumerate(starts):
        end = starts[i + 1] - 1 if i + 1 < len(starts) else 0xFFFF
        ranges.append((s, end, struct.unpack("<H", db[s][1])[0]))
    return ranges


class Peripheral:
    def __init__(self, conn, args, faulty, log, number=1):
        self.conn, self.args, self.log = conn, args, log
        self.number = number
        self.faulty = faulty
        self.fault = args.fault if faulty else "none"
        self.db = build_db(args.layout)
        self.mtu = 23
        self.notifying = False
        self.lock = threading.Lock()
        self.stream_lock = threading.Lock()
        self.streaming = False
        self.closed = False
        self.notify_handle = {"old": 0x0012, "new": 0x0005, "jk04": 0x000A}[args.layout]
        self.cccd = self.notify_handle + 1
        self.write_handles = {"old": (0x0010, 0x0012), "new": (0x0003,),
                              "jk04": (0x000A,)}[args.layout]
        self.switches = args.switches
        self.written = False  # a switch write came on this connection

    def send(self, pdu):
        with self.lock:
            if self.closed:
                return
            try:
                self.conn.send(pdu)
            except OSError:
                self.closed = True

    def error(self, op, handle, code):
        self.send(bytes([0x01, op]) + u16(handle) + bytes([code]))

    def notify_stream(self, data):
        """Split data into notifications as the configured module does; one
        piece of data at a time (a BMS never interleaves two frames)."""
        with self.stream_lock:
            self._notify_stream(data)

    def _notify_stream(self, data):
        room = self.mtu - 3
        split = self.args.split
        if split == "random":
            sizes = []
            left = len(data)
            while left > 0:
                sizes.append(min(left, random.randint(3, 80)))
                left -= sizes[-1]
        else:
            n = {"20": 20, "128": 128, "150": 150, "tailhead": 128}[split]
            sizes = [n] * (len(data) // n) + ([len(data) % n] if len(data) % n else [])
        off = 0
        for s in sizes:
            s = min(s, room)
            chunk = data[off:off + s]
            off += s
            self.send(bytes([0x1B]) + u16(self.notify_handle) + chunk)
        while off < len(data):  # MTU smaller than the chosen split
            chunk = data[off:off + room]
            off += room
            self.send(bytes([0x1B]) + u16(self.notify_handle) + chunk)

    def frame(self, kind):
        if kind == "device":
            f = bytearray(self.args.device_frame)
            if self.args.firmware_change_at and self.number >= self.args.firmware_change_at:
                # the last character of the software version (bytes 30-37) changes
                last = max(i for i in range(30, 38) if f[i] not in (0, 0x20))
                f[last] = ord("7") if f[last] != ord("7") else ord("8")
                f[299] = sum(f[:299]) & 0xFF
            return bytes(f)
        if kind == "settings":
            f = bytearray(300)
            f[0:6] = bytes([0x55, 0xAA, 0xEB, 0x90, 0x01, 0x01])
            if self.switches.protocol == "JK04":
                f[34] = 16
            else:
                f[114] = 16
            self.switches.tick(self.log)
            self.switches.patch_settings(f)
            f[299] = sum(f[:299]) & 0xFF
            return bytes(f)
        f = bytearray(self.args.cell_frame)
        self.switches.tick(self.log)
        self.switches.patch_cell(f)
        f[299] = sum(f[:299]) & 0xFF
        if self.fault == "bad_checksum":
            f[299] ^= 0x5A
        return bytes(f)

    def stream_cells(self):
        if self.fault == "silence":
            return
        if self.fault == "disconnect_mid_frame":
            time.sleep(0.2)
            self.send(bytes([0x1B]) + u16(self.notify_handle) + self.frame("cell")[:100])
            time.sleep(0.05)
            self.close()
            return
        time.sleep(2.5 if self.fault == "slow" else 0.3)
        prev_tail = b""
        for _ in range(self.args.frames):
            if self.closed:
                return
            data = self.frame("cell")
            if self.args.split == "tailhead":
                # the end of one frame and the start of the next in one notification
                data = prev_tail + data[:-40]
                prev_tail = self.frame("cell")[-40:]
            self.notify_stream(data)
            if self.args.split != "tailhead" and self.args.layout == "old":
                self.send(bytes([0x1B]) + u16(self.notify_handle) + b"AT\r\n")
            time.sleep(1.5 if self.fault == "slow" else 0.1)
        if prev_tail:
            self.notify_stream(prev_tail + self.frame("cell")[:260])

    def on_write(self, handle, value):
        if handle not in self.write_handles or len(value) != 20 or value[:4] != b"\xaa\x55\x90\xeb":
            return
        cmd = value[4]
        if cmd not in (0x96, 0x97):
            return self.on_switch_write(value)
        self.log.write("command %02x\n" % cmd)
        if cmd == 0x97:
            self.notify_stream(self.frame("device") + ACK)
        elif cmd == 0x96:
            if self.fault == "settings_first" or self.args.layout != "new" or self.written:
                self.notify_stream(self.frame("settings") + ACK)
            if self.written:
                # the read-back: a cell-info frame soon after the settings
                threading.Timer(0.1, lambda: self.notify_stream(self.frame("cell"))).start()
            if not self.streaming:
                self.streaming = True
                threading.Thread(target=self.stream_cells, daemon=True).start()

    def on_switch_write(self, value):
        name, why = self.switches.check_write(value)
        if name is None:
            self.log.write("rejected %s: %s\n" % (value.hex(), why))
            return
        state = "on" if why else "off"
        self.log.write("write %s %s%s\n" % (name, state, " (stubborn)" if self.args.stubborn else ""))
        self.written = True
        if self.args.no_ack:
            return
        if not self.args.stubborn:
            with self.switches.lock:
                self.switches.set(name, why)
        time.sleep(0.05)  # the BMS acks after 85-247 ms
        # fw 15.41 sends "AT\r\n" in the ack's notification, after it (E14)
        self.notify_stream(ACK + (b"AT\r\n" if self.args.layout == "old" else b""))

    def handle(self, pdu):
        op = pdu[0]
        self.log.write("request %02x\n" % op)
        if op == 0x02:  # Exchange MTU Request
            self.log.write("client mtu %d\n" % struct.unpack("<H", pdu[1:3])[0])
            self.mtu = max(23, min(struct.unpack("<H", pdu[1:3])[0], self.args.server_mtu))
            self.send(bytes([0x03]) + u16(self.args.server_mtu))
        elif op == 0x03:  # our own MTU request answered
            self.log.write("client answered mtu %d\n" % struct.unpack("<H", pdu[1:3])[0])
        elif op == 0x10:  # Read By Group Type: primary services
            start, end = struct.unpack("<HH", pdu[1:5])
            items = [(s, e, u) for s, e, u in service_ranges(self.db) if start <= s <= end]
            if not items:
                return self.error(op, start, 0x0A)
            self.send(bytes([0x11, 6]) + b"".join(u16(s) + u16(e) + u16(u) for s, e, u in items[:3]))
        elif op == 0x06:  # Find By Type Value
            start, end, typ = struct.unpack("<HHH", pdu[1:7])
            want = pdu[7:]
            items = [(s, e) for s, e, u in service_ranges(self.db)
                     if start <= s <= end and typ == 0x2800 and uuid16(u) == want]
            if not items:
                return self.error(op, start, 0x0A)
            self.send(bytes([0x07]) + b"".join(u16(s) + u16(e) for s, e in items))
        elif op == 0x08:  # Read By Type
            start, end, typ = struct.unpack("<HHH", pdu[1:7])
            items = [(h, a[1]) for h, a in sorted(self.db.items())
                     if start <= h <= end and a[0] == typ]
            if not items:
                return self.error(op, start, 0x0A)
            per = (self.mtu - 2) // 7
            self.send(bytes([0x09, 7]) + b"".join(u16(h) + v for h, v in items[:per]))
        elif op == 0x04:  # Find Information
            start, end = struct.unpack("<HH", pdu[1:5])
            items = [(h, a[0]) for h, a in sorted(self.db.items()) if start <= h <= end]
            if not items:
                return self.error(op, start, 0x0A)
            per = (self.mtu - 2) // 4
            self.send(bytes([0x05, 1]) + b"".join(u16(h) + u16(t) for h, t in items[:per]))
        elif op == 0x12:  # Write Request
            handle = struct.unpack("<H", pdu[1:3])[0]
            if handle == self.cccd:
                if self.fault == "att_error":
                    return self.error(op, handle, 0x03)
                self.notifying = pdu[3:5] == b"\x01\x00"
                self.send(bytes([0x13]))
                if self.args.dup_mtu:
                    self.send(bytes([0x03]) + u16(self.args.server_mtu))  # a late duplicate
            elif handle in self.write_handles:
                self.send(bytes([0x13]))
                self.on_write(handle, pdu[3:])
            else:
                self.error(op, handle, 0x03)
        elif op == 0x52:  # Write Command
            handle = struct.unpack("<H", pdu[1:3])[0]
            self.on_write(handle, pdu[3:])
        elif op == 0x01:  # an Error Response from the client (to our own request)
            self.log.write("client answered our request with an error\n")
        elif op in (0x0A, 0x0C, 0x18, 0x16, 0x20, 0x0E):
            self.error(op, 0, 0x06)

    def close(self):
        with self.lock:
            if not self.closed:
                self.closed = True
                try:
                    # wakes the serving thread's recv() and ends the link for the client
                    self.conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self.conn.close()

    def link_setup(self):
        """The kernel's part of the connect: True when the link is up."""
        try:
            req = self.conn.recv(64)
        except OSError:
            return False
        if len(req) != 19 or req[0] != 0x00:
            self.log.write("no connect request\n")
            return False
        kind = {1: "public", 2: "random"}.get(req[1], "?")
        self.log.write("connect %s %s\n" % (kind, req[2:].decode("ascii", "replace")))
        if kind != self.args.address_type:
            # the kernel scans for a device that never shows up: silence
            # until the client gives up and closes
            while True:
                try:
                    if not self.conn.recv(64):
                        break
                except OSError:
                    break
            return False
        failing = self.args.connect_error and (self.args.faulty == 0 or self.faulty)
        if failing and self.args.connect_error == "hangup":
            return False
        code = getattr(errno, self.args.connect_error) if failing else 0
        self.send(bytes([0x00]) + u16(code))
        return code == 0

    def serve(self):
        if not self.link_setup():
            self.close()
            return
        if self.args.peer_mtu_req:
            # JK modules open with their own Exchange MTU Request
            self.send(bytes([0x02]) + u16(self.args.server_mtu))
            # and a request the client cannot serve: it must answer "not supported"
            self.send(bytes([0x0A]) + u16(0x0001))
        while not self.closed:
            try:
                pdu = self.conn.recv(1024)
            except OSError:
                break
            if not pdu:
                break
            self.handle(pdu)
        self.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--device-info", required=True)
    ap.add_argument("--cell-info", required=True)
    ap.add_argument("--layout", choices=("old", "new", "jk04"), default="old")
    ap.add_argument("--split", choices=("20", "128", "150", "tailhead", "random"), default="128")
    ap.add_argument("--server-mtu", type=int, default=131)
    ap.add_argument("--fault", default="none")
    ap.add_argument("--faulty", type=int, default=0)
    ap.add_argument("--connections", type=int, default=1)
    ap.add_argument("--frames", type=int, default=3)
    ap.add_argument("--peer-mtu-req", action="store_true")
    ap.add_argument("--dup-mtu", action="store_true")
    ap.add_argument("--log", default=os.devnull)
    ap.add_argument("--address-type", choices=("public", "random", "none"), default="public",
                    help="none: no connect is ever answered (out of range)")
    ap.add_argument("--connect-error", default="")
    ap.add_argument("--firmware-change-at", type=int, default=0)
    ap.add_argument("--protocol", choices=("JK02_24S", "JK02_32S", "JK04"), default="JK02_32S",
                    help="the frame layout, for the switch offsets of the write path")
    ap.add_argument("--stubborn", action="store_true",
                    help="acknowledge switch writes and keep the old state")
    ap.add_argument("--no-ack", action="store_true",
                    help="take switch writes without acknowledging or applying them")
    ap.add_argument("--spontaneous", action="append", default=[],
                    help="SWITCH=on|off@SECONDS: the BMS changes it by itself")
    ap.add_argument("--random-faults", type=float, default=0.0,
                    help="probability that a connection gets a random fault (with --connections 0: serve forever)")
    args = ap.parse_args()
    args.device_frame = load_hex(args.device_info)
    args.cell_frame = load_hex(args.cell_info)
    args.switches = Switches(args)
    log = open(args.log, "a", buffering=1)
    try:
        os.unlink(args.socket)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    srv.bind(args.socket)
    srv.listen(4)
    srv.settimeout(60)
    print("ready", flush=True)
    faults = ["disconnect_mid_frame", "bad_checksum", "silence", "att_error", "slow"]
    n = 0
    while args.connections == 0 or n < args.connections:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            break
        log.write("connection %d\n" % (n + 1))
        faulty = n < args.faulty
        if args.random_faults > 0 and random.random() < args.random_faults:
            args.fault, faulty = random.choice(faults), True
            log.write("fault %s\n" % args.fault)
        Peripheral(conn, args, faulty, log, n + 1).serve()
        n += 1
    srv.close()
    os.unlink(args.socket)


if __name__ == "__main__":
    sys.exit(main())
