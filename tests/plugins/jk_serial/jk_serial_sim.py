# SPDX-License-Identifier: GPL-2.0-or-later
"""A simulated JK BMS bus on a pty pair, for the jk_serial tests.

Modbus RTU: a server for one or more slave addresses whose register images
are built from real BLE frames (tests/data/jk/jk02_32s_v11_*.hex): the live
block 0x1200 is the cell-info frame from byte 6 and the device-info block
0x1400 the device-info frame from byte 6, each field turned big-endian with
the widths of JK's register map (shared/docs/jk-wired.md). Faults per slave:
"silent" (no answer), "exception" (code 2), "crc" (last CRC byte flipped),
"short" (half an answer), consumed one per request.

UART: answers the 0x4E57 read-all request with a real recorded answer
(tests/data/jk-uart/*.pdu), optionally split into small writes and with junk
and a corrupted frame in front.

The server never serves two requests at once; `collisions` counts requests
that arrived while an answer was still pending (a reader that did not wait
for the bus)."""
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


class Bus:
    """A pty pair; `path` is the device the reader opens."""

    def __init__(self, mode="modbus", delay=0.0):
        self.master, self.slave_fd = os.openpty()
        tty.setraw(self.slave_fd)
        self.path = os.ttyname(self.slave_fd)
        self.mode = mode
        self.delay = delay  # seconds before each answer
        self.slaves = {}    # address -> {base: bytes}
        self.faults = {}    # address -> [fault, ...]
        self.requests = []  # (address, register, count) in arrival order
        self.collisions = 0
        self.uart_answer = b""
        self.uart_chunks = [len(b"")]
        self.uart_prefix = b""
        self.uart_requests = 0
        self._stop = False
        self._rx = bytearray()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def add_slave(self, address, cell_frame, info_frame):
        self.slaves[address] = {
            0x1200: big_endian_image(cell_frame, LIVE_WIDTHS, 0x110),
            0x1400: big_endian_image(info_frame, INFO_WIDTHS, 0x80),
        }

    def close(self):
        self._stop = True
        self._thread.join(5)
        for fd in (self.master, self.slave_fd):
            try:
                os.close(fd)
            except OSError:
                pass

    def _write(self, data):
        os.write(self.master, data)

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
                    self._rx += data

    def _run(self):
        while not self._stop:
            try:
                r, _, _ = select.select([self.master], [], [], 0.05)
                if r:
                    self._rx += os.read(self.master, 4096)
            except OSError:
                time.sleep(0.05)
                continue
            if self.mode == "modbus":
                self._modbus()
            else:
                self._uart()

    def _modbus(self):
        while len(self._rx) >= 8:
            req = bytes(self._rx[:8])
            if crc16(req[:6]) != req[6:8]:
                del self._rx[0]
                continue
            del self._rx[:8]
            addr, func = req[0], req[1]
            reg, count = int.from_bytes(req[2:4], "big"), int.from_bytes(req[4:6], "big")
            self.requests.append((addr, reg, count))
            if addr not in self.slaves:
                continue  # nobody there
            fault = self.faults.get(addr, [None]).pop(0) if self.faults.get(addr) else None
            self._wait(self.delay)
            if fault == "silent":
                continue
            data = None
            for base, img in self.slaves[addr].items():
                if func == 3 and base <= reg and reg - base + 2 * count <= len(img):
                    data = img[reg - base:reg - base + 2 * count]
            if fault == "exception" or data is None:
                pdu = bytes([addr, func | 0x80, 0x02])
                self._write(pdu + crc16(pdu))
                continue
            pdu = bytes([addr, func, 2 * count]) + data
            adu = pdu + crc16(pdu)
            if fault == "crc":
                adu = adu[:-1] + bytes([adu[-1] ^ 0xFF])
            if fault == "short":
                adu = adu[:len(adu) // 2]
            self._write(adu)

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
            time.sleep(0.002)
