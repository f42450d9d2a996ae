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
