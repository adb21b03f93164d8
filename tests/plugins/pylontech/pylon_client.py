#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""An inverter's side of the Pylontech LV protocols, written from the facts
sheet (docs/inverter-link.md) independently of the C code: RS485 requests
and reply decoding with both checksums checked, and the CAN frames' fields.
Used by pylon_e2e.py; run alone it polls a serial port like a Voltronic
inverter in PYL mode (0x4F, 0x42, 0x92):

    pylon_client.py /dev/ttyUSB0 [ADR]
"""
import os
import select
import struct
import sys
import time


def chksum(text):
    return (0x10000 - (sum(text.encode("ascii")) & 0xFFFF)) & 0xFFFF


def length_field(lenid):
    s = (lenid & 0xF) + ((lenid >> 4) & 0xF) + ((lenid >> 8) & 0xF)
    return ((-s) % 16) << 12 | lenid


def request(cid2, adr=2, info=None, ver=0x20, cid1=0x46):
    """A whole request frame as bytes. info: bytes, default the ADR byte for
    the commands that carry one."""
    if info is None:
        info = bytes([adr]) if cid2 in (0x42, 0x44, 0x92, 0x93, 0x96) else b""
    body = "%02X%02X%02X%02X%04X%s" % (ver, adr, cid1, cid2, length_field(2 * len(info)),
                                       info.hex().upper())
    return ("~%s%04X\r" % (body, chksum(body))).encode("ascii")


class BadReply(Exception):
    pass


def decode(frame):
    """A reply frame (bytes, '~' .. CR) -> (ver, adr, cid1, rtn, info bytes).
    Raises BadReply on any framing or checksum error."""
    if not frame.startswith(b"~") or not frame.endswith(b"\r"):
        raise BadReply("no ~ ... CR: %r" % frame)
    text = frame[1:-1].decode("ascii")
    if len(text) < 16 or text != text.upper():
        raise BadReply("short or lowercase: %r" % text)
    if int(text[-4:], 16) != chksum(text[:-4]):
        raise BadReply("CHKSUM %s, want %04X" % (text[-4:], chksum(text[:-4])))
    length = int(text[8:12], 16)
    lenid = length & 0xFFF
    if length_field(lenid) != length:
        raise BadReply("LCHKSUM of %04X" % length)
    info = text[12:-4]
    if len(info) != lenid:
        raise BadReply("LENID %d, INFO has %d characters" % (lenid, len(info)))
    return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16), int(text[6:8], 16),
            bytes.fromhex(info))


def s16(b, i):
    return struct.unpack(">h", b[i:i + 2])[0]


def u16(b, i):
    return struct.unpack(">H", b[i:i + 2])[0]


def parse_analog_block(info, i):
    """One pack's 0x42 block from M on: (dict, next index)."""
    m = info[i]
    i += 1
    cells = [u16(info, i + 2 * k) / 1000.0 for k in range(m)]
    i += 2 * m
    n = info[i]
    i += 1
    temps = [(u16(info, i + 2 * k) - 2731) / 10.0 for k in range(n)]
    i += 2 * n
    current = s16(info, i) / 10.0
    voltage = u16(info, i + 2) / 1000.0
    remaining = u16(info, i + 4)
    items = info[i + 6]
    total = u16(info, i + 7)
    cycles = u16(info, i + 9)
    i += 11
    if items == 4:
        remaining = int.from_bytes(info[i:i + 3], "big")
        total = int.from_bytes(info[i + 3:i + 6], "big")
        i += 6
    return ({"cells": cells, "temps": temps, "current": current, "voltage": voltage,
             "remaining_ah": remaining / 1000.0, "total_ah": total / 1000.0,
             "cycles": cycles}, i)


def parse_analog(info):
    pack, end = parse_analog_block(info, 2)
    if end != len(info):
        raise BadReply("0x42: %d bytes left over" % (len(info) - end))
    pack["adr"] = info[1]
    return pack


def parse_analog_group(info):
    count, i, packs = info[1], 2, []
    for _ in range(count):
        p, i = parse_analog_block(info, i)
        packs.append(p)
    if i != len(info):
        raise BadReply("0x42 group: %d bytes left over" % (len(info) - i))
    return packs


def parse_management(info):
    if len(info) != 10:
        raise BadReply("0x92: %d bytes" % len(info))
    st = info[9]
    return {"adr": info[0], "cvl": u16(info, 1) / 1000.0, "dvl": u16(info, 3) / 1000.0,
            "ccl": s16(info, 5) / 10.0, "dcl": s16(info, 7) / 10.0,
            "charge_enable": bool(st & 0x80), "discharge_enable": bool(st & 0x40),
            "force_charge": bool(st & 0x20)}


def parse_sysparam(info):
    """0x47: 12 values of 2 bytes; the current limits signed, 0.1 A."""
    if len(info) != 24:
        raise BadReply("0x47: %d bytes" % len(info))
    return {"cell_high": u16(info, 0) / 1000.0, "cell_low": u16(info, 2) / 1000.0,
            "cell_under": u16(info, 4) / 1000.0, "ccl": s16(info, 10) / 10.0,
            "module_high": u16(info, 12) / 1000.0, "module_low": u16(info, 14) / 1000.0,
            "module_under": u16(info, 16) / 1000.0, "dcl": s16(info, 22) / 10.0}


def can_fields(frames):
    """{id: data} of one period -> the values, little-endian as V1.2 says."""
    out = {}
    d = frames.get(0x351)
    if d:
        cvl, ccl, dcl, dvl = struct.unpack("<HhhH", d[:8])
        out.update(cvl=cvl / 10.0, ccl=ccl / 10.0, dcl=dcl / 10.0, dvl=dvl / 10.0)
    d = frames.get(0x355)
    if d:
        out["soc"], out["soh"] = struct.unpack("<HH", d[:4])
    d = frames.get(0x356)
    if d:
        v, i, t = struct.unpack("<hhh", d[:6])
        out.update(voltage=v / 100.0, current=i / 10.0, temperature=t / 10.0)
    d = frames.get(0x35C)
    if d:
        out.update(charge_enable=bool(d[0] & 0x80), discharge_enable=bool(d[0] & 0x40))
    d = frames.get(0x35E)
    if d:
        out["manufacturer"] = d.decode("ascii").rstrip()
    d = frames.get(0x359)
    if d:
        out["packs"] = d[4]
        out["pn"] = d[5:7]
    return out


CAN_FRAME = struct.Struct("=IB3x8s")  # struct can_frame: id, len, pad, data


def can_unpack(pkt):
    can_id, length, data = CAN_FRAME.unpack(pkt)
    return can_id, data[:length]


def can_pack(can_id, data):
    return CAN_FRAME.pack(can_id, len(data), data.ljust(8, b"\0"))


class Port:
    """The inverter's end of a serial line (a file descriptor)."""

    def __init__(self, fd):
        self.fd = fd

    def ask(self, frame, timeout=2.0):
        """Send a request, return the reply frame (bytes) or None on silence."""
        os.write(self.fd, frame)
        return self.read_frame(timeout)

    def read_frame(self, timeout):
        buf = b""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                return None
            chunk = os.read(self.fd, 512)
            if not chunk:
                return None
            buf += chunk
            start = buf.find(b"~")
            if start >= 0 and b"\r" in buf[start:]:
                return buf[start:buf.index(b"\r", start) + 1]

    def drain(self, seconds):
        """Everything that arrives within `seconds`."""
        got = b""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            r, _, _ = select.select([self.fd], [], [], max(0.0, end - time.monotonic()))
            if r:
                chunk = os.read(self.fd, 512)
                if not chunk:
                    break
                got += chunk
        return got


def voltronic_poll(port, adr=2):
    """What a Voltronic inverter in PYL mode asks, in its order."""
    out = {}
    for cid2 in (0x4F, 0x42, 0x92):
        reply = port.ask(request(cid2, adr))
        out[cid2] = decode(reply) if reply is not None else None
    return out


if __name__ == "__main__":
    import termios
    import tty

    fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    attrs = termios.tcgetattr(fd)
    attrs[4] = attrs[5] = termios.B9600
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    result = voltronic_poll(Port(fd), int(sys.argv[2]) if len(sys.argv) > 2 else 2)
    for cid2, rep in result.items():
        if rep is None:
            print("0x%02X: no answer" % cid2)
        elif cid2 == 0x42:
            print("0x42:", parse_analog(rep[4]))
        elif cid2 == 0x92:
            print("0x92:", parse_management(rep[4]))
        else:
            print("0x%02X: RTN %02X" % (cid2, rep[3]))
