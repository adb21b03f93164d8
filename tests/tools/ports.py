# SPDX-License-Identifier: GPL-2.0-or-later
"""Ports on 127.0.0.1 for the servers a test starts itself."""
import socket


def free_port():
    """A TCP port nobody listens on right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_open(port):
    """Something accepts connections on the port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False
