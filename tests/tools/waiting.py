# SPDX-License-Identifier: GPL-2.0-or-later
"""Waiting in tests: for a condition, with a deadline, never for a fixed time
(a Pi Zero, or qemu on a shared core, is slower than any guess)."""
import time


def wait_for(pred, seconds):
    """Poll pred() until it holds (True) or `seconds` pass (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False
