"""Deployed model files: a TorchScript ensemble plus the metadata a host code needs.

``ionnp export models/finetune_qeff.pt -o zno.pt`` writes one file that ``torch.jit.load`` (Python)
or ``torch::jit::load`` (C++, LAMMPS's ``pair_style ionnp``) reads with no ionnp installed:

* the scripted :class:`~ionnp.deploy.module.DeployedEnsemble` (descriptors, per-element networks,
  core repulsion, every ensemble member), with the attributes ``elements``, ``cutoff``,
  ``charge``, ``unit_charges`` and ``ensemble_size``;
* ``extra/ionnp.json`` (:data:`METADATA_FILE`): format and version, elements in type order,
  formal charges, the effective charge q and scale λ, the Coulomb charges q_s = q z_s/z_ref the
  host must set, the Coulomb accuracy the model was trained with, the cut-off, dtype, units, and
  provenance (ionnp version, the source file's SHA-256 and metadata, and, given the campaign's
  files, the effective config's hash and DFT settings, the training set's size and volume and
  pressure range, the campaign's validation numbers).

:class:`DeployedModel` runs such a file from Python with the interface of
:class:`~ionnp.nnp.potential.NNPotential` (``predict``), so :class:`~ionnp.nnp.calculator.IonnpCalculator`
takes either. Units: eV, Å, eV/Å, eV/Å³ (ASE's stress sign), e.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib.metadata
import json
import os
import warnings
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ase import Atoms
from ase.units import GPa

from ionnp.charges.coulomb import CoulombResult, coulomb
from ionnp.chemistry import Chemistry
from ionnp.deploy.module import script
from ionnp.io import atomic_path
from ionnp.nnp.descriptors import neighbor_list
from ionnp.nnp.io import UNITS
from ionnp.nnp.potential import NNPotential, with_coulomb
from ionnp.nnp.prediction import Prediction
from ionnp.voigt import VOIGT

#: The format name and version in every deployed file's metadata; readers refuse others.
DEPLOYED_FORMAT = "ionnp.deployed"
DEPLOYED_VERSION = 1
#: The metadata's name among the TorchScript archive's extra files.
METADATA_FILE = "ionnp.json"


@contextlib.contextmanager
def quiet_torchscript() -> Iterator[None]:
    """Silence torch's deprecation warnings of ``torch.jit`` (TorchScript is what LAMMPS's
    libtorch loads; the warnings name nothing a user can act on)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.", category=DeprecationWarning)
        yield


def sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def coulomb_charges(elements: Sequence[str], charge: float,
                    unit_charges: Mapping[str, float] | None) -> dict[str, float]:
    """q_s = q × unit charge of each element (e): the charges of the host's Coulomb term."""
    if unit_charges is None:
        return {e: 0.0 for e in elements}
    return {e: float(charge) * float(unit_charges[e]) for e in elements}


def dataset_summary(frames: Sequence[Atoms]) -> dict[str, Any]:
    """Size and range of a labelled training set: structures, atoms, volume per atom (Å³) and
    pressure −tr σ/3 (GPa) of the DFT labels, where the frames have them."""
    volumes = [a.get_volume() / len(a) for a in frames]
    pressures = []
    for atoms in frames:
        stress = atoms.calc.results.get("stress") if atoms.calc is not None else None
        if stress is not None:
            pressures.append(-float(np.mean(np.asarray(stress)[:3])) / GPa)
    out: dict[str, Any] = {"structures": len(frames), "atoms": int(sum(len(a) for a in frames)),
                           "volume_per_atom_A3": [min(volumes), max(volumes)] if volumes else None}
    out["pressure_GPa"] = [min(pressures), max(pressures)] if pressures else None
    return out


def metadata(potential: NNPotential, source: str | os.PathLike | None = None,
             provenance: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The metadata of a deployed file of ``potential`` (see the module docstring)."""
    source_metadata = dict(getattr(potential, "metadata", {}) or {})
    chemistry = source_metadata.get("chemistry")
    chemistry = None if chemistry is None else Chemistry.from_dict(chemistry)
    formal = None if chemistry is None else chemistry.charges
    reference = None if chemistry is None else chemistry.reference_charge
    origin: dict[str, Any] = {"ionnp_version": importlib.metadata.version("ionnp"),
                              "torch_version": torch.__version__}
    if source is not None:
        origin |= {"source": Path(source).name, "source_sha256": sha256(source),
                   "source_metadata": source_metadata}
    return {
        "format": DEPLOYED_FORMAT,
        "version": DEPLOYED_VERSION,
        "elements": list(potential.elements),
        "formal_charges": formal,
        "charge": potential.charge,
        "scale": None if reference is None else potential.charge / reference,
        "unit_charges": potential.unit_charges,
        "coulomb_charges": coulomb_charges(potential.elements, potential.charge, potential.unit_charges),
        "coulomb": {"method": "Ewald sum of point charges (torch-pme) in training",
                    "accuracy": potential.coulomb_accuracy},
        "cutoff": potential.cutoff,
        "ensemble_size": len(potential.members),
        "dtype": str(potential.dtype).removeprefix("torch."),
        "units": dict(UNITS),
        "provenance": origin | dict(provenance or {}),
    }


def export_model(source: str | os.PathLike | NNPotential, output: str | os.PathLike, *,
                 dtype: torch.dtype | None = None,
                 provenance: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Write the deployed file of a model file (or potential) ``source`` to ``output``
    (atomically) and return its metadata.

    Args:
        dtype: the deployed networks' dtype (default: the model's own; float64 reproduces a
            float64 model to round-off).
        provenance: more provenance entries (the campaign's, see :func:`campaign_provenance`).
    """
    potential = source if isinstance(source, NNPotential) else NNPotential.load(source)
    if dtype is not None and dtype != potential.dtype:
        potential = copy.deepcopy(potential).to(dtype)  # the caller's potential stays as it is
    meta = metadata(potential, None if isinstance(source, NNPotential) else source, provenance)
    with quiet_torchscript(), atomic_path(output) as tmp:
        torch.jit.save(script(potential), str(tmp), _extra_files={METADATA_FILE: json.dumps(meta, indent=1)})
    return meta


def campaign_provenance(config: str | os.PathLike | Mapping[str, Any] | None = None,
                        dataset: Sequence[Atoms] | None = None,
                        validation: str | os.PathLike | None = None) -> dict[str, Any]:
    """Provenance from a campaign's files: the effective config (a file such as
    results/config.yaml, or the config itself; its SHA-256, of the file's bytes or of
    :func:`ionnp.config.config_text`, which are equal, and its ``dft`` section), the training
    frames (:func:`dataset_summary`) and the validation numbers (JSON)."""
    out: dict[str, Any] = {}
    if config is not None:
        import yaml

        from ionnp.config import config_text

        text = Path(config).read_text() if isinstance(config, (str, os.PathLike)) else config_text(config)
        out["config_sha256"] = hashlib.sha256(text.encode()).hexdigest()
        out["dft"] = (yaml.safe_load(text) or {}).get("dft")
    if dataset is not None:
        out["training_set"] = dataset_summary(dataset)
    if validation is not None:
        out["validation"] = json.loads(Path(validation).read_text())
    return out


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata of a deployed file (without loading the module).

    Raises:
        ValueError: naming the file when it is not a deployed ionnp model of this version.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            name = next((n for n in archive.namelist() if n.endswith(f"/extra/{METADATA_FILE}")), None)
            if name is None:
                raise ValueError(f"{path}: a TorchScript file without ionnp metadata "
                                 f"(extra/{METADATA_FILE}); write it with `ionnp export`")
            meta = json.loads(archive.read(name))
    except (zipfile.BadZipFile, OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not a deployed ionnp model ({error})") from error
    if meta.get("format") != DEPLOYED_FORMAT:
        raise ValueError(f"{path}: not a deployed ionnp model (format {meta.get('format')!r})")
    if meta.get("version") != DEPLOYED_VERSION:
        raise ValueError(f"{path}: deployed model version {meta.get('version')}, this ionnp reads "
                         f"{DEPLOYED_VERSION}; export it again")
    return meta


def check_chemistry(path: str | os.PathLike, chemistry: Chemistry) -> None:
    """Refuse a deployed file made for another chemistry (elements or unit charges).

    Raises:
        ValueError: naming the file, what it holds and the expected chemistry.
    """
    meta = read_metadata(path)
    if tuple(meta["elements"]) != chemistry.elements or meta["unit_charges"] != chemistry.unit_charge:
        raise ValueError(f"{path} holds elements {meta['elements']} with unit charges "
                         f"{meta['unit_charges']}, not {chemistry} (unit charges {chemistry.unit_charge})")


class DeployedModel:
    """A deployed file run from Python: :meth:`predict` as :meth:`NNPotential.predict`.

    Args:
        path: a file written by :func:`export_model`.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.metadata = read_metadata(path)
        try:
            with quiet_torchscript():
                self.module = torch.jit.load(str(path), map_location="cpu")
        except RuntimeError as error:
            raise ValueError(f"{path}: the TorchScript module does not load ({error})") from error
        self.elements = tuple(self.metadata["elements"])
        self.charge = float(self.metadata["charge"])
        self.unit_charges = self.metadata["unit_charges"]
        self.cutoff = float(self.metadata["cutoff"])
        self.coulomb_accuracy = float(self.metadata["coulomb"]["accuracy"])

    def eval(self) -> DeployedModel:
        return self

    def coulomb_unit(self, atoms: Atoms) -> CoulombResult:
        """E_C(1), F_C(1), σ_C(1) of ``atoms`` with the unit charges."""
        return coulomb(atoms, self.unit_charges, accuracy=self.coulomb_accuracy)

    def predict(self, atoms: Atoms, *, forces: bool = True, stress: bool = True,
                spread: bool = True, coulomb_unit: CoulombResult | None = None) -> Prediction:
        """Energy, per-atom energies, forces, stress and their ensemble spread of one periodic
        structure (float64 numpy; the Coulomb energy shared equally among the atoms)."""
        if not atoms.pbc.all():
            raise ValueError(f"{atoms.get_chemical_formula()}: the NNP needs a 3D-periodic cell")
        unknown = sorted(set(atoms.get_chemical_symbols()) - set(self.elements))
        if unknown:
            raise ValueError(f"{atoms.get_chemical_formula()}: elements {unknown} are not among "
                             f"{self.path}'s {list(self.elements)}")
        index = {e: k for k, e in enumerate(self.elements)}
        species = torch.tensor([index[s] for s in atoms.get_chemical_symbols()], dtype=torch.long)
        pairs = neighbor_list(atoms.positions, atoms.cell.array, self.cutoff)
        positions = torch.tensor(atoms.positions, dtype=torch.float64)
        cell = torch.tensor(atoms.cell.array, dtype=torch.float64)
        vectors = positions[pairs.j] - positions[pairs.i] + pairs.shifts.to(torch.float64) @ cell
        energies, gradient = self.module(species, pairs.i, pairs.j, vectors, len(atoms), spread)
        per_member = gradient if spread else gradient[None]
        members_forces = torch.zeros(len(per_member), len(atoms), 3, dtype=torch.float64)
        members_forces.index_add_(1, pairs.i, per_member).index_add_(1, pairs.j, -per_member)
        virial = torch.einsum("pa,kpb->kab", vectors, per_member)
        virial = 0.5 * (virial + virial.mT) / atoms.get_volume()
        members_stress = virial[:, VOIGT[0], VOIGT[1]]
        totals = energies.sum(1)
        k = len(energies)
        zero = lambda a: np.zeros_like(a) if k == 1 else None  # noqa: E731
        f = members_forces.mean(0).numpy()
        s = members_stress.mean(0).numpy()
        short_range = Prediction(
            energy=float(totals.mean()), energies=energies.mean(0).numpy(),
            forces=f if forces else None, stress=s if stress else None,
            energy_std=float(totals.std(correction=0)) if k > 1 else 0.0,
            forces_std=(members_forces.std(0, correction=0).numpy() if spread and k > 1 else zero(f))
            if forces else None,
            stress_std=(members_stress.std(0, correction=0).numpy() if spread and k > 1 else zero(s))
            if stress else None,
            short_range_energy=float(totals.mean()),
        )
        return with_coulomb(short_range, atoms, self, coulomb_unit)


def is_deployed(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a TorchScript archive with ionnp metadata (else, e.g., a model file)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(n.endswith(f"/extra/{METADATA_FILE}") for n in archive.namelist())


__all__ = ["DEPLOYED_FORMAT", "DEPLOYED_VERSION", "METADATA_FILE", "DeployedModel", "campaign_provenance",
           "check_chemistry", "coulomb_charges", "dataset_summary", "export_model", "is_deployed",
           "metadata", "read_metadata"]
