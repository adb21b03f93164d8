#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A simulated kernel Bluetooth management socket (HCI_CHANNEL_CONTROL): the
packets of BlueZ doc/mgmt-api.txt over an AF_UNIX SOCK_SEQPACKET socket, one
packet per message, for jkbms-util --scan --transport unix:PATH.

  mgmt_sim.py --socket PATH [--controllers 0,1:off,2:bredr] [--start-status NAME]
              [--device ADDR,TYPE,RSSI,ADV_HEX,SCAN_RSP_HEX]... [--discovery-ms N]
              [--pause-ms N [--pause-for N]] [--peripheral PATH] [--log FILE]

Read Controller Index List answers the indexes of --controllers; Read
Controller Information each one's settings, by its state: le (powered, LE
on; the default), off (powered off), bredr (powered, BR/EDR only: no LE),
le_off (powered, LE supported but switched off). Start Discovery answers as
the kernel's start_discovery_internal() does (net/bluetooth/mgmt.c): Not
Powered when off, Busy while a discovery runs or is paused, Not Supported
without LE, Rejected with LE off; else --start-status (success, busy,
permission_denied, not_powered, rfkilled, rejected). On success a
Discovering event follows, and after --discovery-ms the kernel ends the
discovery (Discovering 0) as it does after about 10 s; --pause-ms N pauses
it N ms after it started, as the kernel does (suspend, a connection being
made): Discovering 0, Start Discovery answers Busy and Stop Discovery
Rejected, and --pause-for ms later Discovering 1 and it goes on. While a
discovery runs (ours, or someone else's when busy) each --device is reported
as two Device Found events, advertisement then scan response, as the kernel
does when they arrive apart; their AD data is sent as given, malformed or
not. Stop Discovery ends it. A socket closed while its discovery still runs
is logged ("discovery left running"). Every command on a controller is
logged as "command OPCODE hciN" too.

Like the kernel, it also takes LE connects (the unix transport's 00 <type>
<address> request, see plugins/libble/transport.c): for a --device with that
address and type it relays the connection to the simulated peripheral at
--peripheral; any other connect gets no answer.
"""
import argparse
import os
import socket
import struct
import sys
import threading
import time

STATUS = {"success": 0x00, "busy": 0x0A, "rejected": 0x0B, "not_powered": 0x0F,
          "rfkilled": 0x12, "permission_denied": 0x14}
NOT_SUPPORTED = 0x0C

# Current / Supported Settings bits (mgmt-protocol.rst, Read Controller Information)
POWERED, BREDR, LE = 1 << 0, 1 << 7, 1 << 9
STATES = {  # state -> (supported, current)
    "le": (POWERED | BREDR | LE, POWERED | BREDR | LE),
    "off": (POWERED | BREDR | LE, BREDR | LE),
    "bredr": (POWERED | BREDR, POWERED | BREDR),
    "le_off": (POWERED | BREDR | LE, POWERED | BREDR),
}


def controller_info(index, state):
    """Read Controller Information return parameters (280 bytes)."""
    supported, current = STATES[state]
    name = b"sim hci%d" % index
    return (bytes([index, 0x11, 0x22, 0x33, 0x44, 0x55]) + struct.pack("<BHII", 9, 0x000F, supported,
                                                                        current)
            + b"\x00\x00\x00" + name.ljust(249, b"\x00") + b"\x00" * 11)


def packet(code, index, params):
    return struct.pack("<HHH", code, index, len(params)) + params


def device_found(index, dev, eir):
    addr = bytes(int(x, 16) for x in reversed(dev["address"].split(":")))
    return packet(0x0012, index, addr + struct.pack("<BbIH", dev["type"], dev["rssi"], 0, len(eir))
                  + eir)


class Kernel:
    def __init__(self, conn, args, log):
        self.conn, self.args, self.log = conn, args, log
        self.lock = threading.Lock()
        self.discovering = {}  # index -> generation of the running discovery
        self.paused = set()    # indexes whose discovery the kernel paused
        self.generation = 0

    def send(self, pkt):
        with self.lock:
            try:
                self.conn.send(pkt)
            except OSError:
                pass

    def reply(self, op, index, status, params=b""):
        if status == 0 or op in (0x0023, 0x0024):
            # Start/Stop Discovery: Command Complete also on failure, with
            # the address type as return parameter
            self.send(packet(0x0001, index, struct.pack("<HB", op, status) + params))
        else:
            self.send(packet(0x0002, index, struct.pack("<HB", op, status)))

    def pause(self, index, gen):
        """The kernel pauses a discovery and resumes it (hci_pause_discovery_sync)."""
        self.paused.add(index)
        self.log.write("discovery paused by the kernel\n")
        self.send(packet(0x0013, index, bytes([0x06, 0x00])))
        time.sleep(self.args.pause_for / 1000)
        self.paused.discard(index)
        if self.discovering.get(index) == gen:
            self.log.write("discovery resumed by the kernel\n")
            self.send(packet(0x0013, index, bytes([0x06, 0x01])))

    def run_discovery(self, index, gen, ours):
        started = time.monotonic()
        paused_once = False
        while self.discovering.get(index) == gen:
            if ours and self.args.pause_ms and not paused_once and \
                    (time.monotonic() - started) * 1000 >= self.args.pause_ms:
                paused_once = True
                self.pause(index, gen)
                continue
            for dev in self.args.devices:
                self.send(device_found(index, dev, dev["adv"]))
                if dev["scan_rsp"]:
                    time.sleep(0.01)
                    self.send(device_found(index, dev, dev["scan_rsp"]))
            time.sleep(0.1)
            if ours and self.args.discovery_ms and \
                    (time.monotonic() - started) * 1000 >= self.args.discovery_ms:
                if self.discovering.get(index) == gen:
                    del self.discovering[index]
                    self.log.write("discovery ended by the kernel\n")
                    self.send(packet(0x0013, index, bytes([0x06, 0x00])))
                return

    def command(self, pkt):
        if len(pkt) < 6:
            self.log.write("short packet\n")
            return
        op, index, plen = struct.unpack("<HHH", pkt[:6])
        params = pkt[6:]
        if plen != len(params):
            self.log.write("bad length\n")
            return self.reply(op, index, 0x0D)
        if op == 0x0003:
            self.log.write("read index list\n")
            lst = sorted(self.args.controllers)
            return self.reply(op, index, 0, struct.pack("<H%dH" % len(lst), len(lst), *lst))
        if index not in self.args.controllers:
            return self.send(packet(0x0002, index, struct.pack("<HB", op, 0x11)))
        self.log.write("command %04x hci%d\n" % (op, index))
        state = self.args.controllers[index]
        supported, current = STATES[state]
        if op == 0x0004:
            self.log.write("read info %d\n" % index)
            return self.reply(op, index, 0, controller_info(index, state))
        if op == 0x0023:
            self.log.write("start discovery %02x\n" % params[0])
            status = STATUS[self.args.start_status]
            # the kernel's order of checks (start_discovery_internal)
            if not current & POWERED:
                return self.reply(op, index, STATUS["not_powered"], params[:1])
            if index in self.discovering or index in self.paused:
                return self.reply(op, index, STATUS["busy"], params[:1])
            if not supported & LE:
                return self.reply(op, index, NOT_SUPPORTED, params[:1])
            if not current & LE:
                return self.reply(op, index, STATUS["rejected"], params[:1])
            if self.args.start_status == "busy" and index not in self.discovering:
                # someone else's discovery runs: its results reach us too
                self.generation += 1
                self.discovering[index] = self.generation
                threading.Thread(target=self.run_discovery,
                                 args=(index, self.generation, False), daemon=True).start()
            self.reply(op, index, status, params[:1])
            if status == 0:
                self.generation += 1
                self.discovering[index] = self.generation
                self.send(packet(0x0013, index, bytes([0x06, 0x01])))
                threading.Thread(target=self.run_discovery,
                                 args=(index, self.generation, True), daemon=True).start()
        elif op == 0x0024:
            self.log.write("stop discovery %02x\n" % params[0])
            if self.args.start_status == "busy" or index not in self.discovering \
                    or index in self.paused:
                return self.reply(op, index, 0x0B, params[:1])  # Rejected: not ours, or paused
            del self.discovering[index]
            self.reply(op, index, 0, params[:1])
            self.send(packet(0x0013, index, bytes([0x06, 0x00])))
        else:
            self.log.write("unknown command %04x\n" % op)
            self.send(packet(0x0002, index, struct.pack("<HB", op, 0x01)))

    def relay(self, first):
        """An LE connect: to the peripheral when the device and type match."""
        kind = first[1]
        addr = first[2:].decode("ascii", "replace")
        self.log.write("connect %s %s\n" % ({1: "public", 2: "random"}.get(kind, "?"), addr))
        known = [d for d in self.args.devices if d["address"] == addr and d["type"] == kind]
        if not known or not self.args.peripheral:
            while self.conn.recv(64):  # never answered, as for a device out of range
                pass
            return
        peer = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        peer.connect(self.args.peripheral)
        peer.send(first)

        def pump(src, dst):
            try:
                while True:
                    data = src.recv(1024)
                    if not data:
                        break
                    dst.send(data)
            except OSError:
                pass
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        t = threading.Thread(target=pump, args=(peer, self.conn), daemon=True)
        t.start()
        pump(self.conn, peer)
        t.join()
        peer.close()

    def serve(self):
        first = True
        while True:
            try:
                pkt = self.conn.recv(65536)
            except OSError:
                break
            if not pkt:
                break
            if first and pkt[0] == 0x00 and len(pkt) == 19:
                return self.relay(pkt)
            first = False
            self.command(pkt)
        if self.discovering and self.args.start_status != "busy":
            self.log.write("discovery left running\n")
        self.discovering.clear()


def parse_device(text):
    addr, typ, rssi, adv, rsp = (text.split(",") + ["", ""])[:5]
    return {"address": addr.upper(), "type": {"bredr": 0, "public": 1, "random": 2}[typ],
            "rssi": int(rssi), "adv": bytes.fromhex(adv), "scan_rsp": bytes.fromhex(rsp)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--controllers", default="0")
    ap.add_argument("--start-status", choices=sorted(STATUS), default="success")
    ap.add_argument("--device", action="append", default=[])
    ap.add_argument("--discovery-ms", type=int, default=0)
    ap.add_argument("--pause-ms", type=int, default=0)
    ap.add_argument("--pause-for", type=int, default=400)
    ap.add_argument("--peripheral", default="")
    ap.add_argument("--log", default=os.devnull)
    args = ap.parse_args()
    controllers = {}
    for c in args.controllers.split(","):
        if c != "":
            idx, _, state = c.partition(":")
            controllers[int(idx)] = state or "le"
    args.controllers = controllers
    args.devices = [parse_device(d) for d in args.device]
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
    while True:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            break
        log.write("socket opened\n")
        threading.Thread(target=lambda c=conn: (Kernel(c, args, log).serve(), c.close()),
                         daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
