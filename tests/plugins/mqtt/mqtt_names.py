#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""What the mqtt sink puts on the wire as a name is checked by --check, not
found out at the first connect: invalid UTF-8, MQTT wildcards and $ topics in
topic_prefix / discovery_prefix, control characters in client_id and
username. One line each naming file:line and the setting, exit 78; no broker
is needed (--check connects to nothing). TAP."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mqttlib  # noqa: E402
from mqttlib import DAEMON, free_port  # noqa: E402

run = mqttlib.Run("mqtt-names-")
PORT = free_port()


def check_conf(name, extra):
    path = run.path(name + ".conf")
    with open(path, "wb") as f:
        f.write(('collector = { state_dir = "%s"; };\n'
                 'sources = ( { plugin = "jk_replay"; name = "battery1"; file = "%s"; } );\n'
                 'sinks = ( { plugin = "mqtt"; host = "127.0.0.1"; port = %d; '
                 % (run.tmp, mqttlib.DEMO_HEX, PORT)).encode() + extra + b" } );\n")
    r = subprocess.run([DAEMON, "-c", path, "--check"], stderr=subprocess.PIPE, timeout=60)
    return r.returncode, r.stderr.decode("utf-8", "replace")


cases = [
    ("utf8", b'topic_prefix = "site\xff1";', "topic_prefix", "invalid UTF-8"),
    ("overlong", b'topic_prefix = "a\xc0\xafb";', "topic_prefix", "invalid UTF-8"),
    ("surrogate", b'discovery_prefix = "ha\xed\xa0\x80";', "discovery_prefix", "invalid UTF-8"),
    ("sys", b'topic_prefix = "$SYS/evil";', "topic_prefix", "leading $"),
    ("plus", b'topic_prefix = "a/+/b";', "topic_prefix", "wildcard"),
    ("hash", b'discovery_prefix = "ha/#";', "discovery_prefix", "wildcard"),
    ("ctl-topic", b'topic_prefix = "a\\tb";', "topic_prefix", "control character"),
    ("cid-utf8", b'client_id = "me\xfe";', "client_id", "invalid UTF-8"),
    ("cid-ctl", b'client_id = "me\\r\\nyou";', "client_id", "control character"),
    ("user-ctl", b'username = "u\\x1b[31m";', "username", "control character"),
    ("user-utf8", b'username = "u\xe2\x82";', "username", "invalid UTF-8"),
]
bad = []
for name, extra, key, want in cases:
    code, err = check_conf(name, extra)
    lines = err.strip().splitlines()
    if code != 78 or len(lines) != 1 or want not in lines[0] or key not in lines[0] \
            or not re.match(r".*%s\.conf:\d+: " % re.escape(name), lines[0]):
        bad.append("%s -> %d %r" % (name, code, err))
run.check("bad names: one line naming file:line, the setting and why, exit 78",
          not bad, "\n".join(bad))

code, err = check_conf("good", 'topic_prefix = "bms/été/1"; discovery_prefix = "homeassistant";'
                       ' client_id = "collectord-ü"; username = "bob";'.encode())
run.check("names in good UTF-8 pass --check", code == 0 and err == "", err)
run.finish()
