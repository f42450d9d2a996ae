"""ionnp.deploy.export: the deployed TorchScript file against IonnpCalculator on the model it came
from (≥ 500-atom rattled triclinic cells of two phases), its metadata, and clear refusals of
other files and chemistries."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import torch
from ase import Atoms

from ionnp.chemistry import Chemistry
from ionnp.deploy.cli import main as ionnp_cli
from ionnp.deploy.export import (DeployedModel, check_chemistry, export_model, is_deployed,
                                 read_metadata)
from ionnp.nnp.calculator import IonnpCalculator
from reference import ZNO, zno_cell
from tiny_models import potential

torch.set_num_threads(1)


def triclinic(phase: str, supercell: tuple[int, int, int], seed: int) -> Atoms:
    """A default-campaign phase repeated, sheared into a triclinic cell and rattled."""
    atoms = zno_cell(phase, supercell)
    strain = np.eye(3) + np.array([[0.02, 0.05, -0.03], [0.0, -0.01, 0.04], [0.0, 0.0, 0.015]])
    atoms.set_cell(atoms.cell.array @ strain, scale_atoms=True)
    atoms.rattle(0.08, seed=seed)
    return atoms


CELLS = {"wurtzite": ((5, 5, 5), 500), "rocksalt": ((4, 4, 4), 512)}


@pytest.mark.parametrize("phase", sorted(CELLS))
def test_deployed_file_equals_ionnp_calculator(model, deployed, phase):
    supercell, n = CELLS[phase]
    atoms = triclinic(phase, supercell, seed=len(phase))
    assert len(atoms) == n and not atoms.cell.orthorhombic
    reference, calculator = IonnpCalculator(model), IonnpCalculator(deployed)
    assert isinstance(calculator.potential, DeployedModel)
    reference.calculate(atoms)
    calculator.calculate(atoms)
    expected, got = reference.results, calculator.results
    assert abs(got["energy"] - expected["energy"]) / n < 1e-6
    assert np.abs(got["forces"] - expected["forces"]).max() < 1e-5
    assert np.abs(got["stress"] - expected["stress"]).max() < 1e-6
    assert np.abs(got["energies"] - expected["energies"]).max() < 1e-6
    for key in ("energy_std", "forces_std", "stress_std", "coulomb_energy"):
        np.testing.assert_allclose(calculator.results[key], reference.results[key], rtol=0, atol=1e-9)


def test_float32_export_of_a_float32_model(tmp_path):
    """The default dtype: a float32 model exported as it is gives its own numbers to float32
    round-off (measured here, not to the float64 tolerances)."""
    model = potential(0.9).to(torch.float32)
    path = tmp_path / "f32.pt"
    assert export_model(model, path)["dtype"] == "float32"
    atoms = triclinic("wurtzite", (3, 3, 3), seed=1)
    expected, got = model.predict(atoms), DeployedModel(path).predict(atoms)
    assert abs(got.energy - expected.energy) / len(atoms) < 1e-5
    assert np.abs(got.forces - expected.forces).max() < 1e-3
    # a float64 export of the same model leaves the caller's model float32
    assert export_model(model, tmp_path / "f64.pt", dtype=torch.float64)["dtype"] == "float64"
    assert model.dtype == torch.float32


def test_metadata_and_the_module_alone(model, deployed):
    meta = read_metadata(deployed)
    assert meta["elements"] == ["Zn", "O"] and meta["formal_charges"] == {"Zn": 2.0, "O": -2.0}
    assert meta["charge"] == 0.9 and meta["scale"] == pytest.approx(0.45)
    assert meta["coulomb_charges"] == {"Zn": pytest.approx(0.9), "O": pytest.approx(-0.9)}
    assert meta["cutoff"] == model.cutoff and meta["ensemble_size"] == 2
    assert meta["provenance"]["ionnp_version"] and meta["provenance"]["torch_version"] == torch.__version__
    # torch.jit.load alone: the attributes a host reads.
    module = torch.jit.load(str(deployed))
    assert list(module.elements) == ["Zn", "O"] and module.cutoff == model.cutoff
    assert list(module.unit_charges) == [1.0, -1.0] and module.ensemble_size == 2


def test_cli_export_writes_provenance(tmp_path, model):
    source = tmp_path / "model.pt"
    model.save(source, metadata={"stage": "finetune", "chemistry": ZNO.to_dict()})
    config = tmp_path / "config.yaml"
    config.write_text("dft:\n  ecutwfc: 35.0\n")
    validation = tmp_path / "errors.json"
    validation.write_text(json.dumps({"energy_mae_mev_per_atom": 4.0}))
    assert ionnp_cli(["export", str(source), "-o", str(tmp_path / "out.pt"), "--dtype", "float64",
                      "--config", str(config), "--validation", str(validation)]) == 0
    provenance = read_metadata(tmp_path / "out.pt")["provenance"]
    assert provenance["source"] == "model.pt" and len(provenance["source_sha256"]) == 64
    assert provenance["source_metadata"]["stage"] == "finetune"
    assert provenance["dft"] == {"ecutwfc": 35.0}
    assert provenance["validation"] == {"energy_mae_mev_per_atom": 4.0}


def test_other_chemistry_and_corrupted_files_are_refused(tmp_path, deployed, model):
    with pytest.raises(ValueError, match=r"zno.pt holds elements \['Zn', 'O'\].*Mg"):
        check_chemistry(deployed, Chemistry.from_charges({"Mg": 2.0, "O": -2.0}))
    check_chemistry(deployed, ZNO)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(deployed.read_bytes()[:5000])
    with pytest.raises(ValueError, match="broken.pt: not a deployed ionnp model"):
        DeployedModel(broken)
    model_file = tmp_path / "model.pt"
    model.save(model_file)
    assert not is_deployed(model_file) and is_deployed(deployed)
    with pytest.raises(ValueError, match="model.pt: a TorchScript file without ionnp metadata"):
        read_metadata(model_file)
    other = tmp_path / "other.pt"
    with zipfile.ZipFile(deployed) as src, zipfile.ZipFile(other, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("extra/ionnp.json"):
                data = json.dumps(json.loads(data) | {"version": 99}).encode()
            dst.writestr(item, data)
    with pytest.raises(ValueError, match="other.pt: deployed model version 99"):
        read_metadata(other)
