"""Logging for workflow scripts: everything, stderr included, goes to the rule's log file."""

from __future__ import annotations

import logging
import os
import sys


def log_to_file(path: str | os.PathLike) -> logging.Logger:
    """Send stderr and the ``ionnp`` logger (INFO and up) to ``path``; return that logger."""
    stream = open(path, "w", buffering=1)  # noqa: SIM115 - lives as long as the process
    sys.stderr = stream
    logging.basicConfig(
        stream=stream,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    return logging.getLogger("ionnp")


def ns_per_day(steps: int, timestep_fs: float, seconds: float) -> float:
    """Simulated nanoseconds per day of wall time: ``steps`` of ``timestep_fs`` (fs) in ``seconds``."""
    return steps * timestep_fs * 1e-6 / (seconds / 86400.0) if seconds > 0 else float("inf")
