# SPDX-License-Identifier: GPL-2.0-or-later
"""The switch registers of simulated JK-PB packs (jk_serial_sim.Bus), for the
control tests: FC 0x10, quantity 2, byte count 4, uint32 big-endian to 0x1070
(charge), 0x1074 (discharge), 0x1078 (balancer) is checked byte for byte
(a wrong CRC, quantity, byte count or value: logged in `rejected`, no
answer), answered with the 8-byte echo, and shown everywhere the pack
reports it: FC 0x03 reads of 0x1070.. (the settings block from 0x1000,
uint32 big-endian), of 0x12C0 (MOSFETs: high byte charge, low byte
discharge) and the trigger frames (settings bytes 118/122/126, status bytes
198/199). `stubborn` slaves echo and keep the old state. Every valid write
is kept, raw, in `switch_writes` as (address, bytes). A "silent" fault
(jk_serial_sim's `faults`) takes a write unheard: no change, no echo."""
import time

from jk_serial_sim import Bus, crc16, with_checksum

SWITCH_REGS = {0x1070: "charge", 0x1074: "discharge", 0x1078: "balancer"}
FLAG_OFFSETS = {"charge": 118, "discharge": 122, "balancer": 126}
MOSFET_OFFSETS = {"charge": 198, "discharge": 199}


class SwitchBus(Bus):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.switch_writes = []  # (address, the 13 bytes written)
        self.rejected = []       # (address or None, bytes, why)
        self.stubborn = set()    # addresses that echo and keep their state

    def add_switches(self, address):
        """Give slave `address` (added with add_slave) its switches, all on,
        the MOSFETs as its status frame has them."""
        slave = self.slaves[address]
        slave["switch"] = {name: 1 for name in FLAG_OFFSETS}
        self._show(address)

    def _show(self, address):
        """The switch state into every image and frame of the slave."""
        slave = self.slaves[address]
        state = slave["switch"]
        settings = bytearray(slave["settings"])
        status = bytearray(slave["status"])
        live = bytearray(slave[0x1200])
        for name, off in FLAG_OFFSETS.items():
            settings[off:off + 4] = state[name].to_bytes(4, "little")
        for name, off in MOSFET_OFFSETS.items():
            status[off] = state[name] if name in state else status[off]
            live[off - 6] = status[off]
        slave["settings"] = with_checksum(settings)
        slave["status"] = with_checksum(status)
        slave[0x1200] = bytes(live)
        img = bytearray(settings[6:6 + 0x80])
        for name, off in FLAG_OFFSETS.items():
            img[off - 6:off - 2] = state[name].to_bytes(4, "big")
        slave[0x1000] = bytes(img)

    def _modbus(self):
        # a switch write: FC 0x10, quantity 2, byte count 4 (13 bytes)
        while len(self._rx) >= 7 and self._rx[1] == 0x10 and self._rx[6] == 4:
            if len(self._rx) < 13:
                return
            req = bytes(self._rx[:13])
            del self._rx[:13]
            self._switch_write(req)
        super()._modbus()

    def _switch_write(self, req):
        addr, reg = req[0], int.from_bytes(req[2:4], "big")
        self.requests.append((addr, reg, 2))
        self.last_fc10 = time.monotonic()
        if self.echo:
            self._write(req)
        why = None
        if crc16(req[:11]) != req[11:13]:
            why = "bad CRC"
        elif reg not in SWITCH_REGS:
            why = "register 0x%04X is no switch" % reg
        elif req[4:7] != b"\x00\x02\x04" or req[7:10] != b"\0\0\0" or req[10] not in (0, 1):
            why = "quantity, byte count or value: %s" % req[4:11].hex()
        elif addr not in self.slaves or "switch" not in self.slaves[addr]:
            why = "no such slave"
        if why is not None:
            self.rejected.append((addr, req, why))
            return
        if self._fault(addr) == "silent":
            return  # not heard: no change, no echo
        self.switch_writes.append((addr, req))
        if addr not in self.stubborn:
            self.slaves[addr]["switch"][SWITCH_REGS[reg]] = req[10]
            self._show(addr)
        self._wait(self.delay)
        pdu = req[:6]
        self._send(pdu + crc16(pdu))


def serve():
    """For a C test: slaves 1 and 2 (the JK02_32S fixtures) with switches, the
    pty's path on stdout, served until stdin closes; then one line per
    switch write ("write ADDRESS HEX") and per rejected frame in --log."""
    import argparse
    import os
    import sys
    import jk_serial_sim as sim
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--stubborn", type=int, action="append", default=[])
    args = ap.parse_args()
    cell = sim.read_hex(os.path.join(args.data, "jk02_32s_v11_cell_info.hex"))
    info = sim.read_hex(os.path.join(args.data, "jk02_32s_v11_device_info.hex"))
    bus = SwitchBus()
    for addr in (1, 2):
        bus.add_slave(addr, cell, info)
        bus.add_switches(addr)
    bus.stubborn.update(args.stubborn)
    print(bus.path, flush=True)
    sys.stdin.read()
    bus.close()
    with open(args.log, "w") as log:
        for addr, req in bus.switch_writes:
            log.write("write %d %s\n" % (addr, req.hex()))
        for addr, req, why in bus.rejected:
            log.write("rejected %s %s: %s\n" % (addr, req.hex(), why))


if __name__ == "__main__":
    serve()
