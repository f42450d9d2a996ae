"""Shared fixtures: the default potential and structures the tests start from."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))  # tests/reference.py

from ionnp.config import validate_config  # noqa: E402
from ionnp.potential import RigidIonPotential  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

# Small tensors on a shared 2-core machine: one thread (OpenMP spin-waiting under contention
# makes two threads up to ~70x slower).
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def default_config() -> dict:
    import yaml

    return validate_config(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))


@pytest.fixture(scope="session")
def potential(default_config) -> RigidIonPotential:
    return RigidIonPotential.from_config(default_config["potential"])
