"""Model files: the format every :class:`~ionnp.nnp.potential.NNPotential` is saved in.

A model file is a ``torch.save`` of plain types and tensors (``torch.load(weights_only=True)``
reads it): format name and version, elements, model settings, q, unit charge signs, the Coulomb
accuracy, dtype, each member's state (weights, feature normalisation, energy shift and scale,
core repulsion radii), the units, and free metadata (stage, q, chemistry). A file of another
version is refused with a clear error. Loading needs only :mod:`ionnp.nnp` (and the Coulomb term
of :mod:`ionnp.charges.coulomb`), never the training code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ionnp.nnp.descriptors import DescriptorSettings
from ionnp.nnp.short_range import ModelSettings

#: Written into every model file; :meth:`NNPotential.load` refuses other formats.
FILE_FORMAT = "ionnp.nnp"
FILE_VERSION = 3  # 2: core repulsion radii in every member; 3: unit charges of any chemistry
#: The units a model file's numbers are in (written into every file, checked on load).
UNITS = {"energy": "eV", "length": "Å", "force": "eV/Å", "stress": "eV/Å³, ASE sign, Voigt xx yy zz yz xz xy",
         "charge": "e"}


def settings_from_dict(data: Mapping[str, Any]) -> ModelSettings:
    """Inverse of :meth:`ModelSettings.to_dict`."""
    data = dict(data)
    descriptors = DescriptorSettings(**data.pop("descriptors"))
    data["hidden_layers"] = tuple(data["hidden_layers"])
    return ModelSettings(descriptors=descriptors, **data)


__all__ = ["FILE_FORMAT", "FILE_VERSION", "UNITS", "settings_from_dict"]
