"""The L/T estimator against independent values: the continuum energy of a longitudinal
polarisation wave, and Buckingham + Coulomb(±q_true) energies computed by LAMMPS."""

import math

import numpy as np
import pytest
import torchpme
from ase.build import bulk
from ase.neighborlist import neighbor_list

from ionnp.charges.modulation import (
    ModulationSettings,
    PolarCrystal,
    estimate,
    extrapolate,
    kpoint_mesh,
    modulation_cells,
    ratio_table,
)
from ionnp.chemistry import Chemistry
from ionnp.lammps.empirical import evaluate
from ionnp.potential import BuckinghamPair, RigidIonPotential
from reference import ZNO, ZNO_STRUCTURES

A_ZB = 4.62  # Å
ZINC_BLENDE = PolarCrystal.from_structure(ZNO_STRUCTURES["zincblende"], ZNO)
SETTINGS = ModulationSettings(repeats=(2, 3, 4), amplitude=0.02, harmonic_amplitude=0.04,
                              kspacings=(0.5,))


def _labelled(cells, potential):
    """Cells with LAMMPS energies of ``potential`` as their calculator results."""
    from ase.calculators.singlepoint import SinglePointCalculator

    out = []
    for cell in cells:
        labelled = cell.copy()
        labelled.calc = SinglePointCalculator(labelled, energy=evaluate(cell, potential).energy)
        out.append(labelled)
    return out


def _potential(q: float) -> RigidIonPotential:
    return RigidIonPotential(
        charges={"Zn": q, "O": -q},
        pairs={frozenset({"Zn", "O"}): BuckinghamPair(499.6, 0.3595, 0.0),
               frozenset({"O"}): BuckinghamPair(22764.0, 0.149, 27.88)},
    )


#: Two more polar crystals and rigid-ion potentials (charges λ z_s): rocksalt MgO (Lewis &
#: Catlow's Mg–O, O–O) and fluorite CaF2, a 1:2 compound (Catlow-type Ca–F, F–F).
OTHERS = {
    "MgO": ({"Mg": 2.0, "O": -2.0}, {"bulk": "rocksalt", "a": 4.21, "cubic": True}, 4.21,
            {("Mg", "O"): BuckinghamPair(821.6, 0.3242, 0.0), ("O", "O"): BuckinghamPair(22764.0, 0.149, 27.88)}),
    "CaF2": ({"Ca": 2.0, "F": -1.0}, {"bulk": "fluorite", "a": 5.46}, 5.46,
             {("Ca", "F"): BuckinghamPair(1272.8, 0.2997, 0.0), ("F", "F"): BuckinghamPair(1127.7, 0.2753, 15.83)}),
}


def test_cells():
    cells = modulation_cells(ZINC_BLENDE, A_ZB, SETTINGS)
    assert len(cells) == 2 * (len(SETTINGS.repeats) + 1)
    assert len({c.info["structure_id"] for c in cells}) == len(cells)
    base = ZINC_BLENDE.column(A_ZB, 3)
    assert len(base) == 12 and base.get_chemical_symbols()[:6] == ["Zn"] * 6
    np.testing.assert_allclose(base.cell.lengths(), [A_ZB / math.sqrt(2)] * 2 + [3 * A_ZB])
    # the column is zinc blende: 4 O at √3 a/4 around each Zn, every periodic image counted
    first, second, distance = neighbor_list("ijd", base, 0.5 * A_ZB)
    assert np.bincount(first, minlength=12).tolist() == [4] * 12
    assert np.all((first < 6) != (second < 6))  # Zn–O pairs only
    np.testing.assert_allclose(distance, math.sqrt(3) * A_ZB / 4)
    longitudinal = next(c for c in cells if c.info["structure_id"].startswith("lt_n3_L_u0.0200"))
    transverse = next(c for c in cells if c.info["structure_id"].startswith("lt_n3_T_u0.0200"))
    u_l, u_t = longitudinal.positions - base.positions, transverse.positions - base.positions
    # antiphase (Zn +, O −), along z = cubic [001] (L) or x = cubic [100] (T), largest where
    # cos(2πz/λ) = ±1
    assert np.abs(u_l[:, :2]).max() == 0 and np.abs(u_t[:, 1:]).max() == 0
    np.testing.assert_allclose(u_l[:, 2], u_t[:, 0], atol=1e-12)
    assert np.abs(u_l).max() == pytest.approx(0.02)
    phase = np.cos(2 * np.pi * base.positions[:, 2] / base.cell[2, 2])
    np.testing.assert_allclose(u_l[:, 2], 0.02 * phase * np.repeat([1.0, -1.0], 6), atol=1e-12)
    cubic = bulk("ZnO", "zincblende", a=A_ZB, cubic=True)
    assert ZINC_BLENDE.lattice_constant(cubic.get_volume() / 4) == pytest.approx(A_ZB)


@pytest.mark.parametrize("repeats, along", [((1, 2, 4), 4), ((2, 3, 4), 12)])
def test_every_column_samples_the_same_k_points(repeats, along):
    """k_z of column n (M/n points over 2π/(n a)) are the cube's M points over 2π/a."""
    for n in repeats:
        mesh = kpoint_mesh(ZINC_BLENDE.column(A_ZB, n), n, repeats, 0.5)
        assert mesh[:2] == [4, 4]  # 2π / (a/√2) / 0.5 = 3.85
        assert mesh[2] * n == along
        kz = {round(j / (mesh[2] * n * A_ZB), 12) for j in range(mesh[2])}  # in units of 2π
        cube = {round(j / (along * A_ZB), 12) for j in range(along)}
        assert {k for k in cube if any(abs(k - q - m / (n * A_ZB)) < 1e-9 for q in kz for m in range(n))} == cube
    assert kpoint_mesh(ZINC_BLENDE.column(A_ZB, 1), 1, (1, 2, 4), 0.25)[2] == 8  # 2π/a/0.25 = 5.4 → 6 → multiple of 4


def test_coulomb_difference_is_the_continuum_field_energy():
    """Unit charges: E_C(L) − E_C(T) → 4π k_e u₀² N_p²/V (the field energy ∫P²/2ε₀ of the
    polarisation wave P = 2u₀ N_p cos(2πz/λ)/V, N_p ion pairs) as 1/λ² → 0."""
    settings = ModulationSettings((3, 4, 6, 8), 0.02, 0.04, (0.5,))
    table = ratio_table(_labelled(modulation_cells(ZINC_BLENDE, A_ZB, settings), _potential(1.0)), ZNO)
    table = table[table["amplitude"] == SETTINGS.amplitude]
    n_pairs = 2 * table["repeats"]
    volume = (A_ZB / math.sqrt(2)) ** 2 * table["wavelength"]
    continuum = 4 * math.pi * torchpme.prefactors.eV_A * 0.02**2 * n_pairs**2 / volume
    fit = extrapolate(table["wavelength"], table["de_coulomb"] / continuum)
    assert fit.q2 == pytest.approx(1.0, abs=2e-3)
    assert fit.slope < 0  # the lattice sum approaches the continuum from below


@pytest.mark.parametrize("q_true", [0.6, 1.0, 2.0])
def test_recovers_the_charge_of_lammps_labels(q_true):
    """Buckingham + Ewald at ±q_true, both from LAMMPS: q within 0.01 e of q_true."""
    frames = _labelled(modulation_cells(ZINC_BLENDE, A_ZB, SETTINGS), _potential(q_true))
    table = ratio_table(frames, ZNO)
    result = estimate(table, SETTINGS)
    assert result["q"] == pytest.approx(q_true, abs=0.01)
    assert abs(result["q"] - q_true) < result["q_error"]
    # extrapolation: the short-range L − T difference fades as 1/λ²
    at_u0 = table[table["amplitude"] == SETTINGS.amplitude].sort_values("wavelength")
    offsets = np.abs(at_u0["ratio"].to_numpy() - q_true**2)
    assert np.all(np.diff(offsets) < 0)
    fit = result["per_kspacing"]["0.5"]
    x = 1 / at_u0["wavelength"] ** 2
    np.testing.assert_allclose(at_u0["ratio"], fit["q2"] + fit["slope"] * x + fit["curvature"] * x**2,
                               atol=1e-9)
    assert abs(fit["curvature"] * x.max()) < 0.2 * abs(fit["slope"])  # 1/λ² dominates
    # harmonic at 0.02-0.04 Å to 2 %
    assert result["harmonicity"]["energy_scaling"] == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("name", sorted(OTHERS))
def test_recovers_the_scale_of_other_crystals(name):
    """Rocksalt and fluorite columns: Buckingham + Ewald at q_s = λ z_s from LAMMPS give back
    λ (q/z_ref) within 0.01."""
    charges, structure, a, pairs = OTHERS[name]
    chemistry = Chemistry.from_charges(charges)
    crystal = PolarCrystal.from_structure(structure, chemistry)
    assert crystal.formula_units_per_cube == pytest.approx(4.0)
    scale = 0.8
    potential = RigidIonPotential(charges={s: scale * z for s, z in charges.items()},
                                  pairs={frozenset(pair): p for pair, p in pairs.items()})
    result = estimate(ratio_table(_labelled(modulation_cells(crystal, a, SETTINGS), potential), chemistry), SETTINGS)
    assert chemistry.scale(result["q"]) == pytest.approx(scale, abs=0.01)


def test_a_polar_crystal_must_be_cubic():
    with pytest.raises(ValueError, match="no cubic cell"):
        PolarCrystal.from_structure(ZNO_STRUCTURES["wurtzite"], ZNO)


def test_incomplete_pairs_are_refused():
    frames = _labelled(modulation_cells(ZINC_BLENDE, A_ZB, SETTINGS), _potential(1.0))
    kept = [f for f in frames if not f.info["structure_id"].startswith(("lt_n3_T", "lt_n4_L"))]
    table = ratio_table(kept, ZNO)
    assert sorted(table["repeats"].unique()) == [2]
    with pytest.raises(ValueError, match="fewer than 3 complete"):
        estimate(table, SETTINGS)


def test_settings_are_checked():
    with pytest.raises(ValueError, match="charges.lt.repeats"):
        ModulationSettings((2, 3), 0.02, 0.04, (0.5,))
    with pytest.raises(ValueError, match="amplitude"):
        ModulationSettings((2, 3, 4), 0.02, 0.02, (0.5,))
