"""A full disk, simulated: writes under one folder fail as on a nearly full disk."""

from __future__ import annotations

import os
from pathlib import Path


class FullDisk:
    """``os.write`` for files under ``root`` that, while ``full``, takes half a write and
    then refuses with ENOSPC (as a nearly full disk does)."""

    def __init__(self, monkeypatch, root: Path) -> None:
        self.full = False
        self._half_done = False
        self.root = str(root)
        real = os.write

        def write(fd: int, data) -> int:
            if self.full and os.readlink(f"/proc/self/fd/{fd}").startswith(self.root):
                if len(data) > 1 and not self._half_done:
                    self._half_done = True
                    return real(fd, bytes(data[: len(data) // 2]))
                raise OSError(28, "No space left on device")
            return real(fd, data)

        monkeypatch.setattr(os, "write", write)  # one os module: every writer in the process

    def fill(self) -> None:
        self.full, self._half_done = True, False

    def free(self) -> None:
        self.full = False
