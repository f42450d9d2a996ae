"""ionnp.nnp.potential against independent values: finite differences of the energy, symmetries
(translation, rotation, permutation, periodic images, supercells), the Coulomb term of
ionnp.charges.coulomb, ensemble statistics computed member by member, and model files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk
from scipy.spatial.transform import Rotation

from ionnp.charges.coulomb import coulomb
from ionnp.nnp.descriptors import DescriptorSettings
from ionnp.nnp.graph import Geometry, Graph, build_graph
from ionnp.nnp.io import FILE_VERSION
from ionnp.nnp.potential import NNPotential
from ionnp.nnp.short_range import ModelSettings, ShortRangeModel
from reference import ZNO, position_derivative

torch.set_num_threads(1)

ELEMENTS = ("Zn", "O")
#: Small descriptors keep the tests fast; the code paths are those of the defaults.
SETTINGS = ModelSettings(
    descriptors=DescriptorSettings(cutoff=4.5, angular_cutoff=3.5, n_radial=8, n_angular_radial=2,
                                   n_angles=3),
    hidden_layers=(16, 12), ensemble_size=3,
)

VOIGT = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]


def sheared_wurtzite(seed: int = 3) -> Atoms:
    """A rattled, sheared 2×1×1 wurtzite ZnO cell (8 atoms), one atom outside the cell."""
    atoms = bulk("ZnO", "wurtzite", a=3.25, c=5.2).repeat((2, 1, 1))
    cell = atoms.cell.array.copy()
    cell[2] += 0.4 * cell[0] - 0.3 * cell[1]
    atoms.set_cell(cell, scale_atoms=True)
    atoms.rattle(0.15, seed=seed)
    atoms.positions[0] -= cell[2]
    return atoms


def normalised_model(seed: int = 0, dtype: torch.dtype = torch.float64) -> ShortRangeModel:
    """A randomly initialised model with feature statistics and shifts from real structures
    (so standardised features and energies have realistic sizes)."""
    torch.manual_seed(seed)
    model = ShortRangeModel(ELEMENTS, SETTINGS)
    frames = [sheared_wurtzite(s) for s in range(3)] + [bulk("ZnO", "rocksalt", a=4.3)]
    graph = build_graph(frames, ELEMENTS, model.cutoff)
    energies = torch.linspace(-3.0, 2.0, len(graph.positions), dtype=torch.float64)
    model.fit_normalisation(graph, energies=energies)
    return model.to(dtype)


@pytest.fixture(scope="module")
def model() -> ShortRangeModel:
    return normalised_model()


@pytest.fixture(scope="module")
def atoms() -> Atoms:
    return sheared_wurtzite()


def strained(atoms: Atoms, component: tuple[int, int], step: float) -> Atoms:
    """``atoms`` deformed by the symmetric strain with ε_ab = ε_ba = step/2 (ε_aa = step)."""
    a, b = component
    strain = np.zeros((3, 3))
    strain[a, b] += step / 2
    strain[b, a] += step / 2
    out = atoms.copy()
    out.set_cell(atoms.cell.array @ (np.eye(3) + strain), scale_atoms=True)
    return out


def test_forces_are_finite_differences(model, atoms):
    prediction = model.predict(atoms)
    numeric = position_derivative(lambda moved: model.predict(moved).energy, atoms)
    assert np.abs(prediction.forces).max() > 0.05  # a non-trivial test
    np.testing.assert_allclose(prediction.forces, numeric, rtol=0,
                               atol=1e-6 * np.abs(numeric).max())


def test_stress_is_finite_difference_of_strain(model, atoms):
    prediction = model.predict(atoms)
    step = 1e-5
    numeric = np.array([
        (model.predict(strained(atoms, c, step)).energy
         - model.predict(strained(atoms, c, -step)).energy) / (2 * step)
        for c in VOIGT
    ]) / atoms.get_volume()
    assert np.abs(numeric[3:]).max() > 1e-4  # shear components are exercised too
    np.testing.assert_allclose(prediction.stress, numeric, rtol=0, atol=1e-6 * np.abs(numeric).max())


def test_per_atom_energies_sum_to_total(model, atoms):
    prediction = model.predict(atoms)
    assert prediction.energies.shape == (len(atoms),)
    assert prediction.energies.sum() == pytest.approx(prediction.energy, rel=1e-12)
    assert np.ptp(prediction.energies) > 1e-3


def test_translation_and_periodic_images(model, atoms):
    reference = model.predict(atoms)
    moved = atoms.copy()
    moved.positions += np.array([0.37, -1.21, 2.9])
    wrapped = atoms.copy()
    wrapped.wrap()
    unwrapped = atoms.copy()
    unwrapped.positions[3] += atoms.cell.array.T @ np.array([2, -1, 3])
    for other in (moved, wrapped, unwrapped):
        assert not np.allclose(other.positions, atoms.positions)
        p = model.predict(other)
        assert p.energy == pytest.approx(reference.energy, rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(p.energies, reference.energies, atol=1e-11)
        np.testing.assert_allclose(p.forces, reference.forces, atol=1e-11)
        np.testing.assert_allclose(p.stress, reference.stress, atol=1e-12)


def test_rotation(model, atoms):
    reference = model.predict(atoms)
    rotation = Rotation.from_rotvec([0.3, -1.1, 0.7]).as_matrix()
    rotated = atoms.copy()
    rotated.set_cell(atoms.cell.array @ rotation.T)
    rotated.positions = atoms.positions @ rotation.T
    p = model.predict(rotated)
    assert p.energy == pytest.approx(reference.energy, rel=1e-12)
    np.testing.assert_allclose(p.forces, reference.forces @ rotation.T, atol=1e-10)
    full = lambda v: np.array([[v[0], v[5], v[4]], [v[5], v[1], v[3]], [v[4], v[3], v[2]]])  # noqa: E731
    np.testing.assert_allclose(full(p.stress), rotation @ full(reference.stress) @ rotation.T,
                               atol=1e-11)


def test_permutation_of_like_atoms(model, atoms):
    reference = model.predict(atoms)
    order = np.random.default_rng(1).permutation(len(atoms))
    permuted = atoms[order]
    assert permuted.get_chemical_symbols() != atoms.get_chemical_symbols()  # mixed, still valid
    p = model.predict(permuted)
    assert p.energy == pytest.approx(reference.energy, rel=1e-12)
    np.testing.assert_allclose(p.energies, reference.energies[order], atol=1e-11)
    np.testing.assert_allclose(p.forces, reference.forces[order], atol=1e-11)


def test_supercell_is_extensive(model, atoms):
    reference = model.predict(atoms)
    p = model.predict(atoms.repeat((2, 1, 1)))
    assert p.energy == pytest.approx(2 * reference.energy, rel=1e-12)
    np.testing.assert_allclose(p.forces, np.tile(reference.forces, (2, 1)), atol=1e-10)
    np.testing.assert_allclose(p.stress, reference.stress, atol=1e-12)


def test_batched_prediction_equals_single(model, atoms):
    frames = [atoms, bulk("ZnO", "rocksalt", a=4.2).repeat((2, 1, 1)), sheared_wurtzite(7)]
    frames[1].rattle(0.1, seed=2)
    together = model.predict_many(frames)
    small_batches = model.predict_many(frames, max_atoms=10)
    for frame, a, b in zip(frames, together, small_batches):
        single = model.predict(frame)
        for p in (a, b):
            assert p.energy == pytest.approx(single.energy, rel=1e-12)
            np.testing.assert_allclose(p.forces, single.forces, atol=1e-11)
            np.testing.assert_allclose(p.stress, single.stress, atol=1e-12)
            np.testing.assert_allclose(p.energies, single.energies, atol=1e-11)


def test_graph_collate_offsets():
    frames = [sheared_wurtzite(), bulk("ZnO", "rocksalt", a=4.2)]
    graph = build_graph(frames, ELEMENTS, 4.0)
    first = Graph.from_atoms(frames[0], ELEMENTS, 4.0)
    assert graph.n_atoms.tolist() == [8, 2]
    assert graph.batch.tolist() == [0] * 8 + [1] * 2
    n = len(first.i)
    assert (graph.i[:n] == first.i).all() and graph.i[n:].min() >= 8


def test_float32_by_default_and_float64_on_demand(atoms):
    single = normalised_model(dtype=torch.float32)
    double = normalised_model(dtype=torch.float64)
    assert ShortRangeModel(ELEMENTS, SETTINGS).dtype == torch.float32
    assert all(p.dtype == torch.float32 for p in single.parameters())
    assert all(p.dtype == torch.float64 for p in double.parameters())
    a, b = single.predict(atoms), double.predict(atoms)
    assert a.energy == pytest.approx(b.energy, rel=1e-5)
    np.testing.assert_allclose(a.forces, b.forces, atol=1e-4 * np.abs(b.forces).max())
    assert a.energy != b.energy  # really computed in another precision


def test_energy_shift_stays_float64():
    """A DFT-size per-element shift survives float32 models without rounding."""
    model = normalised_model(dtype=torch.float32)
    atoms = sheared_wurtzite()  # 4 Zn, 4 O
    before = model.predict(atoms).energy
    change = np.array([-1234.567891234, -432.198765432])
    model.energy_shift = model.energy_shift + torch.tensor(change)
    assert model.energy_shift.dtype == torch.float64
    assert model.predict(atoms).energy - before == pytest.approx(4 * change.sum(), abs=1e-9)
    model.to(torch.float64)
    assert model.energy_shift.dtype == torch.float64


def test_fit_normalisation_from_per_atom_energies():
    torch.manual_seed(0)
    model = ShortRangeModel(ELEMENTS, SETTINGS)
    frames = [sheared_wurtzite(s) for s in range(2)]
    graph = build_graph(frames, ELEMENTS, model.cutoff)
    energies = torch.where(graph.species == 0, 5.0, -2.0).double() + \
        torch.linspace(-0.1, 0.1, len(graph.species), dtype=torch.float64)
    model.fit_normalisation(graph, energies=energies)
    zn, o = graph.species == 0, graph.species == 1
    np.testing.assert_allclose(model.energy_shift.numpy(),
                               [energies[zn].mean().item(), energies[o].mean().item()], atol=1e-12)
    rest = energies - model.energy_shift[graph.species]
    assert model.energy_scale.item() == pytest.approx(rest.std().item(), rel=1e-6)
    # Standardisation: mean zero, and no feature is divided by less than the floor.
    assert (model.feature_std > 0).all()


def test_unknown_element_and_open_cell_are_refused(model):
    with pytest.raises(ValueError, match="Mg"):
        model.predict(bulk("MgO", "rocksalt", a=4.2))
    open_cell = sheared_wurtzite()
    open_cell.pbc = [True, True, False]
    with pytest.raises(ValueError, match="periodic"):
        model.predict(open_cell)


# ---- the ensemble and the Coulomb term


def ensemble(charge: float = 0.0, dtype: torch.dtype = torch.float64) -> NNPotential:
    return NNPotential([normalised_model(seed, dtype) for seed in range(3)], charge, ZNO.unit_charge)


def test_ensemble_mean_and_spread_member_by_member(atoms):
    potential = ensemble()
    p = potential.predict(atoms)
    members = [m.predict(atoms) for m in potential.members]
    energies = np.array([m.energy for m in members])
    forces = np.stack([m.forces for m in members])
    stress = np.stack([m.stress for m in members])
    assert energies.std() > 1e-3
    assert p.energy == pytest.approx(energies.mean(), rel=1e-12)
    assert p.energy_std == pytest.approx(energies.std(), rel=1e-10)
    np.testing.assert_allclose(p.forces, forces.mean(0), atol=1e-11)
    np.testing.assert_allclose(p.forces_std, forces.std(0), atol=1e-10)
    np.testing.assert_allclose(p.stress, stress.mean(0), atol=1e-12)
    np.testing.assert_allclose(p.stress_std, stress.std(0), atol=1e-12)
    # Without the force spread: the same means, one backward pass, energy spread still there.
    fast = potential.predict(atoms, spread=False)
    np.testing.assert_allclose(fast.forces, p.forces, atol=1e-11)
    assert fast.forces_std is None and fast.energy_std == pytest.approx(p.energy_std)


def zero_short_range(model: ShortRangeModel) -> ShortRangeModel:
    with torch.no_grad():
        for element in range(len(model.elements)):
            last = model.linear_layers(element)[-1]
            last.weight.zero_()
            last.bias.zero_()
    model.energy_shift = torch.zeros(2, dtype=torch.float64)
    return model


def test_coulomb_term_is_q_squared_unit_coulomb(atoms):
    q = 0.83
    potential = NNPotential([zero_short_range(normalised_model())], charge=q,
                            unit_charges={"Zn": 1.0, "O": -1.0})
    p = potential.predict(atoms)
    unit = coulomb(atoms, ZNO.unit_charges(atoms))
    assert p.energy == pytest.approx(q**2 * unit.energy, rel=1e-12)
    assert p.coulomb_energy == pytest.approx(q**2 * unit.energy, rel=1e-12)
    assert p.short_range_energy == 0.0
    np.testing.assert_allclose(p.forces, q**2 * unit.forces, atol=1e-12)
    np.testing.assert_allclose(p.stress, q**2 * unit.stress, atol=1e-14)
    assert p.energies.sum() == pytest.approx(p.energy, rel=1e-12)
    # A precomputed unit result gives the same, and Coulomb adds onto the short-range term.
    assert potential.predict(atoms, coulomb_unit=unit).energy == pytest.approx(p.energy, rel=1e-14)
    full = ensemble(charge=q)
    short = ensemble(charge=0.0).predict(atoms)
    both = full.predict(atoms)
    assert both.energy == pytest.approx(short.energy + q**2 * unit.energy, rel=1e-12)
    np.testing.assert_allclose(both.forces, short.forces + q**2 * unit.forces, atol=1e-11)


def test_unit_charges_and_errors():
    potential = ensemble(charge=1.0)
    assert potential.unit_charges == {"Zn": 1.0, "O": -1.0}
    with pytest.raises(ValueError, match="unit_charges"):
        NNPotential([normalised_model()], 1.0, {"Zn": 1.0})
    with pytest.raises(ValueError, match="needs the unit charges"):  # no 1:1 guess
        NNPotential([normalised_model()], 1.0)
    assert NNPotential([normalised_model()]).unit_charges is None  # no Coulomb term, none needed
    other = ShortRangeModel(("Zn", "O"), ModelSettings(hidden_layers=(4,)))
    with pytest.raises(ValueError, match="descriptor"):
        NNPotential([normalised_model(), other])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_save_and_load_predict_identically(tmp_path, atoms, dtype):
    potential = ensemble(charge=0.7, dtype=dtype)
    path = tmp_path / "model.pt"
    potential.save(path, metadata={"stage": "test"})
    loaded = NNPotential.load(path)
    assert loaded.elements == potential.elements and loaded.charge == 0.7
    assert loaded.settings == potential.settings and loaded.dtype == dtype
    assert loaded.metadata == {"stage": "test"}
    a, b = potential.predict(atoms), loaded.predict(atoms)
    assert a.energy == b.energy and a.energy_std == b.energy_std
    assert np.array_equal(a.forces, b.forces) and np.array_equal(a.stress, b.stress)
    assert np.array_equal(a.forces_std, b.forces_std)
    for m, n in zip(potential.members, loaded.members):
        assert torch.equal(m.energy_shift, n.energy_shift)
        assert torch.equal(m.feature_std, n.feature_std)


def test_load_refuses_other_files(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match="not an ionnp model"):
        NNPotential.load(path)


@pytest.mark.parametrize("version, age", [(FILE_VERSION - 1, "older"), (FILE_VERSION + 1, "newer")])
def test_load_refuses_other_versions_and_units(tmp_path, version, age):
    path = tmp_path / "model.pt"
    ensemble(charge=0.7, dtype=torch.float64).save(path)
    payload = torch.load(path, weights_only=True)
    torch.save({**payload, "version": version}, tmp_path / "versioned.pt")
    with pytest.raises(ValueError, match=f"model file version {version} is {age}"):
        NNPotential.load(tmp_path / "versioned.pt")
    torch.save({**payload, "units": {**payload["units"], "energy": "kcal/mol"}}, tmp_path / "units.pt")
    with pytest.raises(ValueError, match="units"):
        NNPotential.load(tmp_path / "units.pt")


def test_a_model_file_loads_without_the_training_code(tmp_path, atoms):
    """In a fresh interpreter in which ionnp.train cannot be imported, a model file loads and
    predicts the same energy, core repulsion included."""
    import subprocess
    import sys

    import ase.io

    potential = ensemble(charge=0.7, dtype=torch.float64)
    potential.save(tmp_path / "model.pt")
    ase.io.write(tmp_path / "atoms.extxyz", atoms)
    script = (
        "import sys; sys.modules['ionnp.train'] = None; sys.modules['ionnp.charges.scan'] = None\n"
        "import ase.io; from ionnp.nnp.calculator import IonnpCalculator\n"
        f"atoms = ase.io.read({str(tmp_path / 'atoms.extxyz')!r})\n"
        f"atoms.calc = IonnpCalculator({str(tmp_path / 'model.pt')!r})\n"
        "print(repr(atoms.get_potential_energy()))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    # extxyz keeps positions to 1e-8 Å: energies agree to ~1e-9 eV, not bit for bit.
    assert float(result.stdout) == pytest.approx(potential.predict(atoms).energy, abs=1e-7)


def test_settings_from_config():
    settings = ModelSettings.from_config({"descriptors": {"cutoff": 5.0}, "hidden_layers": [32, 16],
                                          "activation": "silu", "ensemble_size": 2})
    assert settings.descriptors.cutoff == 5.0 and settings.hidden_layers == (32, 16)
    assert ModelSettings.from_config({}) == ModelSettings()
    with pytest.raises(ValueError, match="activation"):
        ModelSettings(activation="relu6")


def test_normalisation_in_chunks_equals_one_pass():
    frames = [sheared_wurtzite(s) for s in range(3)] + [bulk("ZnO", "rocksalt", a=4.3)]
    graphs = [Graph.from_atoms(a, ELEMENTS, SETTINGS.descriptors.cutoff) for a in frames]
    energy = torch.tensor([-10.0, -11.0, -9.5, -3.0], dtype=torch.float64)
    one, many = ShortRangeModel(ELEMENTS, SETTINGS), ShortRangeModel(ELEMENTS, SETTINGS)
    one.fit_normalisation(Graph.collate(graphs), energy=energy)
    many.fit_normalisation(graphs, energy=energy, max_atoms=9)
    torch.testing.assert_close(one.feature_mean, many.feature_mean, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(one.feature_std, many.feature_std, rtol=1e-6, atol=1e-7)
    # features really standardised: the training atoms' standardised features have mean 0
    # (to the float32 rounding of the stored statistics)
    one.to(torch.float64)
    features = torch.cat([one.features(Geometry(g, torch.float64, False, False), g.species)
                          for g in graphs])
    species = torch.cat([g.species for g in graphs])
    zn = (features[species == 0] - one.feature_mean[0]) / one.feature_std[0]
    assert zn.mean(0).abs().max() < 1e-5 and zn.std(0).max() > 0.5
    # total energies only: the shift solves the composition least squares (min norm)
    counts = np.array([[4, 4], [4, 4], [4, 4], [1, 1]], dtype=float)
    expected = np.linalg.lstsq(counts, energy.numpy(), rcond=None)[0]
    np.testing.assert_allclose(one.energy_shift.numpy(), expected, atol=1e-10)
