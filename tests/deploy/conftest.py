"""The model both deployment test modules export: a small untrained float64 ensemble at q = 0.9."""

from __future__ import annotations

import pytest

from ionnp.deploy.export import export_model
from reference import ZNO
from tiny_models import potential


@pytest.fixture(scope="module")
def model():
    return potential(0.9)


@pytest.fixture(scope="module")
def deployed(model, tmp_path_factory):
    """The model's deployed file (zno.pt)."""
    path = tmp_path_factory.mktemp("deploy") / "zno.pt"
    model.metadata = {"stage": "test", "chemistry": ZNO.to_dict()}
    export_model(model, path)
    return path
