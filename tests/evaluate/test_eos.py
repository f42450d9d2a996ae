"""Birch–Murnaghan fits and enthalpy crossings against ASE's formula, finite differences and a
brute-force Legendre transform."""

import numpy as np
import pandas as pd
import pytest
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.eos import birchmurnaghan
from ase.units import GPa

from ionnp.chemistry import formula_units
from ionnp.dft.dataset import remove_pulay_stress
from ionnp.evaluate.eos import (
    BirchMurnaghan,
    eos_point,
    fit_birch_murnaghan,
    fit_table,
    scaled_cells,
    stress_check,
    transition_pressure,
    transition_table,
)

# Roughly PBE wurtzite and rocksalt ZnO per formula unit (eV, Å³, eV/Å³).
WURTZITE = BirchMurnaghan(e0=-10.0, v0=24.8, b0=130 * GPa, b0_prime=4.5)
ROCKSALT = BirchMurnaghan(e0=-9.7, v0=20.0, b0=170 * GPa, b0_prime=4.6)


def test_energy_is_ases_birch_murnaghan():
    volumes = np.linspace(18.0, 28.0, 11)
    expected = birchmurnaghan(volumes, WURTZITE.e0, WURTZITE.b0, WURTZITE.b0_prime, WURTZITE.v0)
    np.testing.assert_allclose(WURTZITE.energy(volumes), expected, rtol=0, atol=1e-12)


def test_pressure_is_minus_the_volume_derivative():
    volumes = np.linspace(19.0, 27.0, 9)
    h = 1e-5
    finite_difference = -(WURTZITE.energy(volumes + h) - WURTZITE.energy(volumes - h)) / (2 * h)
    np.testing.assert_allclose(WURTZITE.pressure(volumes), finite_difference, rtol=1e-7, atol=1e-10)
    assert WURTZITE.pressure(WURTZITE.v0) == pytest.approx(0.0, abs=1e-14)


def test_volume_inverts_pressure():
    for p_gpa in (-2.0, 0.0, 10.0, 50.0):
        volume = WURTZITE.volume(p_gpa * GPa)
        assert WURTZITE.pressure(volume) == pytest.approx(p_gpa * GPa, abs=1e-12)


def test_volume_stays_on_the_branch_of_v0_when_the_fit_turns_over():
    # B0' = 2: P(V) peaks near 0.46 V0 and falls below it; V(P) must not jump to that side.
    soft = BirchMurnaghan(e0=0.0, v0=20.0, b0=200 * GPa, b0_prime=2.0)
    volume = soft.volume(30 * GPa)
    assert 0.8 * soft.v0 < volume < soft.v0
    assert soft.pressure(volume) == pytest.approx(30 * GPa, abs=1e-12)
    with pytest.raises(ValueError, match="outside this equation of state"):
        soft.volume(5000 * GPa)


def test_fit_recovers_parameters_from_sampled_energies():
    volumes = WURTZITE.v0 * np.array([0.88, 0.92, 0.96, 1.0, 1.04, 1.08])
    fitted = fit_birch_murnaghan(volumes, WURTZITE.energy(volumes))
    assert fitted.v0 == pytest.approx(WURTZITE.v0, rel=1e-6)
    assert fitted.e0 == pytest.approx(WURTZITE.e0, abs=1e-8)
    assert fitted.b0 == pytest.approx(WURTZITE.b0, rel=1e-5)
    assert fitted.b0_prime == pytest.approx(WURTZITE.b0_prime, rel=1e-4)


def test_fit_needs_four_points():
    with pytest.raises(ValueError, match="at least 4"):
        fit_birch_murnaghan([20.0, 22.0, 24.0], [1.0, 0.0, 1.0])


def test_transition_pressure_matches_a_brute_force_legendre_transform():
    # H(P) = min_V E(V) + P V on a dense grid, for each phase; the crossing by interpolation.
    volumes = np.linspace(14.0, 30.0, 40001)
    pressures = np.linspace(0.0, 40 * GPa, 401)
    difference = [np.min(ROCKSALT.energy(volumes) + p * volumes)
                  - np.min(WURTZITE.energy(volumes) + p * volumes) for p in pressures]
    expected = np.interp(0.0, -np.array(difference), pressures)
    found = transition_pressure(WURTZITE, ROCKSALT)
    assert found / GPa == pytest.approx(expected / GPa, abs=0.02)
    # Hand check: ΔE0 = 0.3 eV over ΔV ≈ 4.8 Å³ gives roughly 10 GPa.
    assert 5 < found / GPa < 15


def test_transition_pressure_edge_cases():
    def rocksalt_shifted(by: float) -> BirchMurnaghan:
        return BirchMurnaghan(ROCKSALT.e0 + by, ROCKSALT.v0, ROCKSALT.b0, ROCKSALT.b0_prime)

    # 3 eV higher: ΔV ≈ 3 Å³ at 30 GPa gives back only ~0.6 eV, no crossing below 30 GPa.
    assert np.isnan(transition_pressure(WURTZITE, rocksalt_shifted(3.0), p_max=30 * GPa))
    assert transition_pressure(WURTZITE, rocksalt_shifted(-1.0)) == 0.0


def test_scaled_cells_scale_the_volume_at_fixed_shape():
    atoms = bulk("ZnO", "wurtzite", a=3.25, c=5.2)
    for scaled, scale in zip(scaled_cells(atoms, [0.9, 1.1]), [0.9, 1.1]):
        assert scaled.get_volume() == pytest.approx(scale * atoms.get_volume(), rel=1e-12)
        np.testing.assert_allclose(scaled.get_scaled_positions(), atoms.get_scaled_positions(), atol=1e-12)
        assert scaled.cell.cellpar()[3:] == pytest.approx(atoms.cell.cellpar()[3:])
        assert scaled.info["volume_scale"] == scale
    assert formula_units(atoms) == 2


def test_fit_and_transition_tables_per_method():
    """Two methods on the same volumes: one whose stress is −dE/dV, one whose stress carries a
    constant 12 GPa offset (a Pulay stress) and whose rocksalt sits 0.1 eV higher."""
    rows = []
    for method, offset_gpa, shift in (("exact", 0.0, 0.0), ("pulay", 12.0, 0.1)):
        for phase, eos in (("wurtzite", WURTZITE), ("rocksalt", ROCKSALT)):
            volumes = eos.v0 * np.array([0.9, 0.94, 0.98, 1.02, 1.06, 1.1])
            for v in volumes:
                rows.append(dict(method=method, phase=phase, volume_a3=v,
                                 energy_ev=float(eos.energy(v)) + (shift if phase == "rocksalt" else 0.0),
                                 pressure_gpa=float(eos.pressure(v)) / GPa + offset_gpa))
    fits = fit_table(pd.DataFrame(rows)).set_index(["method", "phase"])
    assert fits.loc[("exact", "wurtzite"), "b0_gpa"] == pytest.approx(130.0, rel=1e-4)
    assert fits.loc[("exact", "rocksalt"), "stress_offset_gpa"] == pytest.approx(0.0, abs=1e-4)
    assert fits.loc[("pulay", "wurtzite"), "stress_offset_gpa"] == pytest.approx(12.0, abs=1e-4)
    transitions = transition_table(fits.reset_index(), "wurtzite", 60.0).set_index("method")
    assert transitions.loc["exact", "pressure_gpa"] == pytest.approx(transition_pressure(WURTZITE, ROCKSALT) / GPa, abs=1e-6)
    # 0.1 eV more to pay with ΔV ≈ 4 Å³ (1 eV/Å³ = 160 GPa): about 4 GPa later.
    assert 3 < transitions.loc["pulay", "pressure_gpa"] - transitions.loc["exact", "pressure_gpa"] < 5
    assert not transitions.extrapolated.any()


def pulay_cells(phase_offsets_gpa: dict[str, float]) -> tuple[list, pd.DataFrame]:
    """Cells of the wurtzite and rocksalt E(V) above with DFT-like labels: the energy, and a
    stress of −dE/dV plus a constant isotropic offset per phase (the form of a Pulay stress)."""
    prototypes = {"wurtzite": (bulk("ZnO", "wurtzite", a=3.29, c=5.30), WURTZITE),
                  "rocksalt": (bulk("ZnO", "rocksalt", a=4.3, cubic=True), ROCKSALT)}
    cells, rows = [], []
    for phase, offset_gpa in phase_offsets_gpa.items():
        prototype, eos = prototypes[phase]
        for atoms in scaled_cells(prototype, [0.9, 0.95, 1.0, 1.05, 1.1]):
            units = formula_units(atoms)
            atoms.info["phase"] = phase
            volume = atoms.get_volume() / units
            pressure = eos.pressure(volume) + offset_gpa * GPa  # eV/Å³
            stress = -pressure * np.array([1, 1, 1, 0, 0, 0])
            atoms.calc = SinglePointCalculator(atoms, energy=units * eos.energy(volume), stress=stress)
            row = eos_point("DFT", atoms, atoms.get_potential_energy(), atoms.get_stress())
            assert row["volume_a3"] == pytest.approx(volume) and row["pressure_gpa"] == pytest.approx(pressure / GPa)
            cells.append(atoms)
            rows.append(row)
    return cells, pd.DataFrame(rows)


@pytest.mark.parametrize("offset_gpa, usable", [(0.0, True), (-0.8, True), (-11.0, False)])
def test_stress_check_measures_a_pulay_like_offset(offset_gpa, usable):
    """Without a correction the check returns the offset and refuses it above 1 GPa."""
    _, points = pulay_cells({"rocksalt": offset_gpa})
    check = stress_check(points, threshold_gpa=1.0, pulay_correction=False)
    assert check["stress_offset_gpa"]["rocksalt"] == pytest.approx(offset_gpa, abs=1e-3)
    assert check["pulay_pressure_gpa"] == 0.0
    assert check["usable"] is usable and check["max_abs_residual_gpa"] == pytest.approx(abs(offset_gpa), abs=1e-3)


@pytest.mark.parametrize("offsets, usable", [((-11.0, -10.6), True), ((-0.68, -1.01), True), ((-11.0, -8.0), False)])
def test_the_pulay_correction_removes_the_mean_offset(offsets, usable):
    """With the correction, the mean of the phases' offsets is the Pulay pressure; what is left
    is ± half their difference, and the labels corrected by it refit to exactly that residual."""
    cells, points = pulay_cells(dict(zip(("wurtzite", "rocksalt"), offsets)))
    check = stress_check(points, threshold_gpa=1.0)
    mean = float(np.mean(offsets))
    assert check["pulay_pressure_gpa"] == pytest.approx(mean, abs=1e-3)
    assert check["max_abs_residual_gpa"] == pytest.approx(abs(offsets[0] - offsets[1]) / 2, abs=1e-3)
    assert check["usable"] is usable
    remove_pulay_stress(cells, check["pulay_pressure_gpa"])
    assert all(a.info["pulay_pressure_gpa"] == check["pulay_pressure_gpa"] for a in cells)
    corrected = pd.DataFrame([eos_point("DFT", a, a.get_potential_energy(), a.get_stress()) for a in cells])
    after = stress_check(corrected, threshold_gpa=1.0, pulay_correction=False)
    for phase, offset in zip(("wurtzite", "rocksalt"), offsets):
        assert after["stress_offset_gpa"][phase] == pytest.approx(offset - mean, abs=1e-3)


def test_an_equation_of_state_needs_four_converged_volumes():
    """Failed volumes are returned to be reported; fewer than four left refuses the fit,
    naming the phase and each failed structure."""
    from ionnp.evaluate.eos import converged_volumes

    status = {"structures": [{"structure_id": f"v{k}", "status": "converged" if k < 4 else "crashed",
                              "reason": ""} for k in range(6)]}
    frames = [object()] * 4
    assert [s["structure_id"] for s in converged_volumes("rocksalt", frames, status)] == ["v4", "v5"]
    with pytest.raises(RuntimeError, match=r"eos rocksalt: 3 converged volumes, a fit needs 4; failed: v4 \(crashed\)"):
        converged_volumes("rocksalt", frames[:3], status)


def test_equilibrium_volume_and_at_volume_recover_a_known_minimum():
    """Cells labelled with a known Birch–Murnaghan E(V) give back its V0; at_volume scales a
    cell to a volume per formula unit keeping fractional coordinates."""
    from ase.build import bulk
    from ase.calculators.singlepoint import SinglePointCalculator

    from ionnp.evaluate.eos import BirchMurnaghan, at_volume, equilibrium_volume, scaled_cells

    known = BirchMurnaghan(e0=-9.0, v0=20.0, b0=1.2, b0_prime=4.5)  # eV, Å³/f.u., eV/Å³
    base = at_volume(bulk("ZnO", "rocksalt", a=4.3, cubic=True), 20.0)  # 4 f.u.
    assert base.get_volume() / 4 == pytest.approx(20.0, rel=1e-12)
    cells = scaled_cells(base, [0.9, 0.95, 1.0, 1.05, 1.1])
    for cell in cells:
        cell.calc = SinglePointCalculator(cell, energy=4 * known.energy(cell.get_volume() / 4))
    assert equilibrium_volume(cells) == pytest.approx(20.0, rel=1e-4)
    np.testing.assert_allclose(at_volume(cells[0], 20.0).get_scaled_positions(), base.get_scaled_positions(),
                               atol=1e-12)
