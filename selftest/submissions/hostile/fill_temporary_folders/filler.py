"""Fills every temporary folder it can write, and its own, with many files each under the size limit."""

import os
import time


def fill(seconds=5.0, megabytes=120):
    block = b"x" * (200 << 10)
    deadline, written = time.monotonic() + seconds, 0
    for folder in ("/tmp", "/var/tmp", "/dev/shm", "."):
        n = 0
        while time.monotonic() < deadline and written < megabytes << 20:
            try:
                with open(os.path.join(folder, f"fill-{os.getpid()}-{n}"), "wb") as out:
                    out.write(block)
            except OSError:
                break
            n += 1
            written += len(block)
