# SPDX-License-Identifier: GPL-2.0-or-later
"""A simulated JK BMS bus on a pty pair, for the jk_serial tests.

It behaves as real JK-PB packs do by the field notes (mr-manuel's
venus-os_dbus-serialbattery bms-docs/JKBMS-PB.md; shared/docs/jk-wired.md
section 3), not as our reader happens to ask:

Modbus RTU: slaves whose data come from real BLE frames
(tests/data/jk/jk02_32s_v11_*.hex).
- The trigger protocol: an FC 0x10 write of one register to 0x1620 /
  0x161E / 0x161C is answered by the 300-byte `55 AA EB 90` frame of type
  2 / 1 / 3 (little-endian, the BLE layout), then 00, the FC 0x10
  acknowledgement (with its CRC), then 00: 310 bytes.
- FC 0x03 reads of the register image (the live block 0x1200 is the
  cell-info frame from byte 6 and the device-info block 0x1400 the
  device-info frame from byte 6, each field big-endian by the widths of
  JK's map) are not answered at all on a "cold" bus, one that saw no FC
  0x10 for `warm_s` seconds (cold-bus knock-out), and a read of more than
  40 registers gets exception 03.
- A request that starts sooner than 50 ms after the last answer ended is
  lost (`lost` counts them).
- The device-info frame holds a passcode (PASSCODE) at offsets 62, 97 and
  118, as real packs do; `secret_reads` counts FC 0x03 reads that cover one.
Faults per slave, consumed one per request: "silent" (no answer),
"exception" (code 2), "busy" (code 6), "value" (code 3, FC 0x03 only), "crc" (last CRC byte flipped),
"short" (half an answer), "trickle" (one byte every `trickle_s`).
`echo` makes the adapter echo every request first (CH341).

A master pack (`start_master([1, 2], cycle)`): polls the slaves with
0x1620 then 0x161E each cycle, probes `scan` addresses that do not answer,
and broadcasts its own status and settings frames with no request (no
acknowledgement either); `written` counts the bytes anyone else wrote.

UART: answers the 0x4E57 read-all request with a real recorded answer
(tests/data/jk-uart/*.pdu), optionally split into small writes and with junk
and a corrupted frame in front.

`collisions` counts requests that arrived while an answer was still being
sent (a reader that did not wait for the bus)."""
import os
import select
import threading
import time
import tty

# Field widths of the live block by byte offset (u8 fields and gaps stay as
# they are): (offset, width).
LIVE_WIDTHS = ([(o, 2) for o in range(0x00, 0x40, 2)] + [(0x40, 4), (0x44, 2), (0x46, 2)]
               + [(o, 2) for o in range(0x4A, 0x8A, 2)]
               + [(0x8A, 2), (0x8C, 4), (0x90, 4), (0x94, 4), (0x98, 4), (0x9C, 2), (0x9E, 2),
                  (0xA0, 4), (0xA4, 2), (0xA8, 4), (0xAC, 4), (0xB0, 4), (0xB4, 4), (0xBA, 2),
                  (0xBC, 4)]
               + [(o, 2) for o in range(0xC2, 0xD0, 2)] + [(o, 2) for o in range(0xD2, 0xDC, 2)]
               + [(0xDC, 4), (0xE4, 2), (0xE6, 2), (0xF0, 4), (0xF8, 2), (0xFA, 2), (0xFC, 2),
                  (0x100, 4), (0x108, 4)])
INFO_WIDTHS = [(0x20, 4), (0x24, 4)]


def read_hex(path):
    return bytes.fromhex("".join(open(path).read().split()))


def read_pdu(path):
    """The (request, answer) of a .pdu file: '>>> 4E:57:..' and '<<< ..' lines."""
    req = ans = None
    for line in open(path):
        if line.startswith(">>>"):
            req = bytes.fromhex(line[3:].strip().replace(":", ""))
        elif line.startswith("<<<"):
            ans = bytes.fromhex(line[3:].strip().replace(":", ""))
    return req, ans


def big_endian_image(frame, widths, length):
    """Bytes 6.. of a little-endian BLE frame, every listed field reversed."""
    img = bytearray(frame[6:6 + length].ljust(length, b"\0"))
    for off, width in widths:
        if off + width <= length:
            img[off:off + width] = img[off:off + width][::-1]
    return bytes(img)


def crc16(data):
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return bytes([crc & 0xFF, crc >> 8])


PASSCODE = b"Sim-PASS-4711"


def with_checksum(frame):
    f = bytearray(frame)
    f[299] = sum(f[:299]) & 0xFF
    return bytes(f)


def frame_of_type(frame, ftype):
    """The BLE frame as the trigger protocol sends it: type in bytes 4-5."""
    f = bytearray(frame)
    f[4], f[5] = ftype, 0
    return with_checksum(f)


def with_passcodes(info_frame, code=PASSCODE):
    f = bytearray(info_frame)
    for off, n in ((62, 16), (97, 5), (118, 16)):
        f[off:off + n] = code[:n].ljust(n, b"\0")
    return with_checksum(f)


def settings_frame(cells=16):
    f = bytearray(300)
    f[0:6] = b"\x55\xaa\xeb\x90\x01\x00"
    for off, v in ((10, 2700), (18, 3650), (26, 5), (130, 280000), (138, 3440)):
        f[off:off + 4] = v.to_bytes(4, "little")
    f[114] = cells
    return with_checksum(f)


def trigger(addr, reg):
    pdu = bytes([addr, 0x10, reg >> 8, reg & 0xFF, 0, 1, 2, 0, 0])
    return pdu + crc16(pdu)


def ack(addr, reg):
    pdu = bytes([addr, 0x10, reg >> 8, reg & 0xFF, 0, 1])
    return pdu + crc16(pdu)


TRIGGERS = {0x1620: "status", 0x161E: "settings", 0x161C: "about"}


class Bus:
    """A pty pair; `path` is the device the reader opens."""

    def __init__(self, mode="modbus", delay=0.0, warm_s=3.0, echo=False):
        self.master, self.slave_fd = os.openpty()
        tty.setraw(self.slave_fd)
        self.path = os.ttyname(self.slave_fd)
        self.mode = mode
        self.delay = delay  # seconds before each answer
        self.warm_s = warm_s
        self.echo = echo
        self.trickle_s = 0.4
        self.slaves = {}    # address -> {base: bytes, "status"/"settings"/"about": frame}
        self.faults = {}    # address -> [fault, ...]
        self.requests = []  # (address, register, count) in arrival order (count 0: trigger)
        self.collisions = 0
        self.lost = 0
        self.secret_reads = 0
        self.written = 0    # bytes the reader(s) wrote
        self.last_fc10 = -1e9
        self.last_answer_end = -1e9
        self.uart_answer = b""
        self.uart_chunks = [len(b"")]
        self.uart_prefix = b""
        self.uart_requests = 0
        self.uart_pause = 0.002  # seconds between the chunks of a UART answer
        self._stop = False
        self._rx = bytearray()
        self._wlock = threading.Lock()
        self._master = None
        self._master_stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def restart(self, address, sw_version):
        """The pack restarts with another firmware: run time back to 60 s,
        the about frame naming `sw_version`."""
        s = self.slaves[address]
        f = bytearray(s["status"])
        f[194:198] = (60).to_bytes(4, "little")
        s["status"] = with_checksum(f)
        f = bytearray(s["about"])
        f[30:38] = sw_version.encode().ljust(8, b"\0")
        s["about"] = with_checksum(f)

    def add_slave(self, address, cell_frame, info_frame):
        info = with_passcodes(info_frame)
        self.slaves[address] = {
            0x1200: big_endian_image(cell_frame, LIVE_WIDTHS, 0x110),
            0x1400: big_endian_image(info, INFO_WIDTHS, 0x80),
            "status": frame_of_type(cell_frame, 2),
            "settings": settings_frame(),
            "about": frame_of_type(info, 3),
        }

    def answer(self, address, reg):
        """The 310 bytes a slave sends for a trigger of `reg`."""
        frame = self.slaves[address][TRIGGERS[reg]]
        return frame + b"\0" + ack(address, reg) + b"\0"

    def start_master(self, slaves, cycle=4.4, scan=(), probe_s=0.22, own=None):
        """A master pack on the bus polling `slaves`; `own` is its own
        (cell_frame, info_frame) for the broadcasts (default: slave 1's)."""
        if own is not None:
            self.add_slave(0, *own)
        self._master = threading.Thread(target=self._master_run,
                                        args=(list(slaves), cycle, list(scan), probe_s),
                                        daemon=True)
        self._master.start()

    def stop_master(self):
        """The master pack leaves the bus (switched to slave, or unplugged)."""
        self._master_stop = True
        if self._master is not None:
            self._master.join(10)
        self._master = None

    def close(self):
        self._stop = True
        self._thread.join(5)
        if self._master is not None:
            self._master.join(10)
        for fd in (self.master, self.slave_fd):
            try:
                os.close(fd)
            except OSError:
                pass

    def _write(self, data):
        with self._wlock:
            os.write(self.master, data)

    def _sleep(self, seconds):
        end = time.monotonic() + seconds
        while not self._stop and time.monotonic() < end:
            time.sleep(min(0.02, max(0, end - time.monotonic())))

    def _master_run(self, slaves, cycle, scan, probe_s):
        while not self._stop and not self._master_stop:
            start = time.monotonic()
            for addr in slaves:
                for reg in (0x1620, 0x161E):
                    self._write(trigger(addr, reg))
                    self._sleep(0.01)
                    if addr in self.slaves:
                        self._write(self.answer(addr, reg))
                    self._sleep(0.05)
            for addr in scan:
                self._write(trigger(addr, 0x1620))
                self._sleep(probe_s)
            own = self.slaves.get(0) or self.slaves.get(slaves[0] if slaves else 1)
            if own is not None:  # its own frames, with no request
                self._write(own["status"])
                self._sleep(0.03)
                self._write(own["settings"])
            self._sleep(cycle - (time.monotonic() - start))

    def _wait(self, seconds):
        """Sleep, noting a request that arrives meanwhile (a bus collision)."""
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([self.master], [], [], left)
            if r:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    return
                if data:
                    self.collisions += 1
                    self.written += len(data)
                    self._rx += data

    def _send(self, data, fault=None):
        if fault == "trickle":
            for i in range(len(data)):
                if self._stop:
                    return
                self._write(data[i:i + 1])
                self._wait(self.trickle_s)
        else:
            self._write(data)
        self.last_answer_end = time.monotonic()

    def _run(self):
        while not self._stop:
            try:
                r, _, _ = select.select([self.master], [], [], 0.05)
                if r:
                    data = os.read(self.master, 4096)
                    self.written += len(data)
                    if self.mode == "modbus" and \
                            time.monotonic() - self.last_answer_end < 0.05 and not self._rx:
                        self.lost += 1  # too soon after the last answer: not heard
                        continue
                    self._rx += data
            except OSError:
                time.sleep(0.05)
                continue
            if self.mode == "modbus":
                self._modbus()
            else:
                self._uart()

    def _modbus(self):
        while len(self._rx) >= 8:
            # FC 0x10 (a trigger) is 11 bytes, FC 0x03 8
            size, handle = (11, self._trigger) if self._rx[1] == 0x10 else (8, self._read)
            if len(self._rx) < size:
                return
            req = bytes(self._rx[:size])
            if crc16(req[:-2]) != req[-2:]:
                del self._rx[0]
                continue
            del self._rx[:size]
            handle(req)

    def _fault(self, addr):
        return self.faults.get(addr, [None]).pop(0) if self.faults.get(addr) else None

    def _trigger(self, req):
        addr, reg = req[0], int.from_bytes(req[2:4], "big")
        self.requests.append((addr, reg, 0))
        self.last_fc10 = time.monotonic()
        if self.echo:
            self._write(req)
        if addr not in self.slaves or addr == 0:
            return  # nobody there; the master pack answers nobody
        fault = self._fault(addr)
        self._wait(self.delay)
        if fault == "silent":
            return
        if fault in ("exception", "busy") or reg not in TRIGGERS:
            pdu = bytes([addr, 0x90, 0x06 if fault == "busy" else 0x02])
            self._send(pdu + crc16(pdu))
            return
        data = self.answer(addr, reg)
        if fault == "crc":
            data = data[:-2] + bytes([data[-2] ^ 0xFF]) + data[-1:]
        if fault == "short":
            data = data[:len(data) // 2]
        self._send(data, fault)

    def _read(self, req):
        addr, func = req[0], req[1]
        reg, count = int.from_bytes(req[2:4], "big"), int.from_bytes(req[4:6], "big")
        self.requests.append((addr, reg, count))
        if self.echo:
            self._write(req)
        if addr not in self.slaves or addr == 0:
            return  # nobody there
        if time.monotonic() - self.last_fc10 > self.warm_s:
            return  # cold bus: FC 0x03 is not served
        fault = self._fault(addr)
        self._wait(self.delay)
        if fault == "silent":
            return
        # register addresses count bytes: this read covers [reg, reg + 2 * count)
        if any(reg < end and reg + 2 * count > start
               for start, end in ((0x1438, 0x1448), (0x1470, 0x1480))):
            self.secret_reads += 1
        data = None
        for base, img in self.slaves[addr].items():
            if isinstance(base, int) and func == 3 and base <= reg and \
                    reg - base + 2 * count <= len(img):
                data = img[reg - base:reg - base + 2 * count]
        code = (0x02 if fault == "exception" or data is None else 0x06 if fault == "busy"
                else 0x03 if fault == "value" else 0)
        if count > 40:
            code = 0x03
        if code:
            pdu = bytes([addr, func | 0x80, code])
            self._send(pdu + crc16(pdu))
            return
        pdu = bytes([addr, func, 2 * count]) + data
        adu = pdu + crc16(pdu)
        if fault == "crc":
            adu = adu[:-1] + bytes([adu[-1] ^ 0xFF])
        if fault == "short":
            adu = adu[:len(adu) // 2]
        self._send(adu, fault)

    def _uart(self):
        start = self._rx.find(b"\x4e\x57")
        if start < 0 or len(self._rx) < start + 21:
            return
        del self._rx[:start + 21]
        self.uart_requests += 1
        self._wait(self.delay)
        data = self.uart_prefix + self.uart_answer
        i = 0
        sizes = self.uart_chunks or [len(data)]
        k = 0
        while i < len(data):
            n = sizes[k % len(sizes)] or len(data)
            self._write(data[i:i + n])
            i += n
            k += 1
            if self._stop:
                return
            time.sleep(self.uart_pause)
        self.last_answer_end = time.monotonic()
