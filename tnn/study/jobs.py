"""Two processes on one study: a helper process takes units of work from the back of each phase.

A study is a list of units (datasets, trainings, analysis parts), each of which leaves a file that a
rerun trusts (:mod:`tnn.study.runner`). Most of a study's time on a CPU is XLA compilation, which is
single-threaded: one process keeps about 1.2 of 2 cores busy. With ``jobs=2`` the main process
starts one helper process (``spawn``) on the same results folder and the same persistent
compilation cache; both walk the same phases, the main process from the front and the helper from
the back, and a unit is computed by whichever process *claims* it first (a file created with
``O_EXCL`` in ``<out>/.claims/``; the claim is marked done when the unit's file is written). The
main process waits for a unit the helper holds and then reads it like a rerun reads a finished unit,
so the results are those of one process, bit for bit (every unit is seeded by the config, not by
the order of work; tested). The helper reads the other process's units the same way when the next
phase needs them (a training needs every dataset, an analysis every training), writes no report and
exits when the last phase has nothing left to claim.

Nothing is lost when either process dies: the main process computes a unit itself when the helper
holding it has exited without marking it done (the unit resumes like after a kill), and the helper
exits when its parent is gone. Stale claims of an earlier, killed run are removed at the start.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Callable

__all__ = ["Claims", "MAIN", "HELPER", "CLAIMS_DIR"]

MAIN, HELPER = "main", "helper"
#: the claims folder inside a study's results folder
CLAIMS_DIR = ".claims"


class Claims:
    """Who computes which unit of a study run by two processes (``role``: :data:`MAIN` or :data:`HELPER`).

    ``other_alive() -> bool`` tells whether the other process still runs; ``None``: no other process
    (one job), where every unit is this process's and nothing waits.
    """

    def __init__(self, out: Path, role: str, other_alive: Callable[[], bool] | None, poll: float = 0.1):
        if role not in (MAIN, HELPER):
            raise ValueError(f"Argument `role` must be {MAIN!r} or {HELPER!r}, got {role!r}.")
        self.folder = Path(out) / CLAIMS_DIR
        self.role, self.other_alive, self.poll = role, other_alive, poll
        self.by_other: set[str] = set()

    @property
    def shared(self) -> bool:
        """Whether another process works on the same study."""
        return self.other_alive is not None

    @staticmethod
    def reset(out: Path) -> None:
        """Remove the claims of an earlier run (call before the helper starts)."""
        shutil.rmtree(Path(out) / CLAIMS_DIR, ignore_errors=True)

    def _path(self, unit: str) -> Path:
        return self.folder / unit.replace("/", "--").replace(":", "_")

    def take(self, unit: str) -> bool:
        """Claim ``unit``; False when the other process holds it."""
        if not self.shared:
            return True
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self._path(unit), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            return False
        os.write(fd, self.role.encode())
        os.close(fd)
        return True

    def done(self, unit: str) -> None:
        """Mark ``unit`` done (its result file is written)."""
        if self.shared:
            Path(f"{self._path(unit)}.done").touch()

    def is_done(self, unit: str) -> bool:
        return Path(f"{self._path(unit)}.done").exists()

    def wait(self, unit: str) -> bool:
        """Wait until the other process has done ``unit``. True when it has; False when it exited
        first (the caller then computes the unit itself, resuming what was written)."""
        if not self.shared:
            return False
        while not self.is_done(unit):
            if not self.other_alive():
                return self.is_done(unit)
            time.sleep(self.poll)
        self.by_other.add(unit)
        return True
