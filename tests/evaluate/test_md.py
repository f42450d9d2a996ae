"""MD helpers: NVE with an untrained (but smooth and conservative) network."""

import numpy as np
import pytest
import torch
from ase.build import bulk

from ionnp.evaluate.md import nve_drift, relax
from ionnp.nnp.calculator import IonnpCalculator
from ionnp.nnp.potential import NNPotential
from ionnp.nnp.short_range import ModelSettings
from reference import ZNO


def test_nve_conserves_energy_and_reports_the_drift():
    potential = NNPotential.create(["Zn", "O"], ModelSettings(hidden_layers=(4,), ensemble_size=1),
                                   charge=0.0)
    atoms = bulk("ZnO", "rocksalt", a=4.3, cubic=True)
    atoms.rattle(0.02, seed=1)
    atoms.calc = IonnpCalculator(potential.to(torch.float64), spread=False)
    trace, drift = nve_drift(atoms, 300.0, 1.0, 200, seed=3)
    total = trace.total_ev_per_atom.to_numpy()
    assert len(trace) == 21
    # Velocity Verlet with forces that are the energy's gradient: the total energy is flat
    # (a sign or factor error in the forces makes it wander by far more than 1 meV/atom).
    assert np.ptp(total) < 1e-3 and abs(drift) < 1.0
    assert np.ptp(trace.potential_ev_per_atom) > 10 * np.ptp(total)  # atoms do move


def test_relax_finds_the_minimum_of_a_pair_potential():
    """Lennard-Jones fcc (nearest neighbours only: ASE's LJ with a cut-off between the first and
    second shells) has its minimum where the nearest-neighbour distance is 2^(1/6) σ."""
    from ase.calculators.lj import LennardJones

    atoms = bulk("Ar", "fcc", a=1.45, cubic=True)  # nearest neighbours at 1.025 σ
    atoms.calc = LennardJones(sigma=1.0, epsilon=1.0, rc=1.3, smooth=False)
    result = relax(atoms, fmax=1e-5, steps=2000)
    nearest = atoms.cell.cellpar()[0] / np.sqrt(2)
    assert result["converged"] and abs(nearest - 2 ** (1 / 6)) < 1e-3
    assert result["volume_ratio"] > 1.0


def test_lammps_engine_gives_the_same_traces():
    """The LAMMPS path conserves energy like the ASE one and its compression trace has the same
    columns; at 40 GPa the cell shrinks."""
    from ionnp.evaluate.md import lammps_compression, lammps_nve_drift

    potential = NNPotential.create(["Zn", "O"], ModelSettings(hidden_layers=(4,), ensemble_size=1),
                                   charge=0.0).to(torch.float64)
    atoms = bulk("ZnO", "rocksalt", a=4.3, cubic=True)
    atoms.rattle(0.02, seed=1)
    trace, drift = lammps_nve_drift(atoms, potential, 300.0, 0.5, 200, seed=3)
    assert len(trace) == 21 and trace.time_ps.iloc[-1] == pytest.approx(0.1)
    total = trace.total_ev_per_atom.to_numpy()
    assert np.ptp(total) < 1e-3 and abs(drift) < 1.0
    assert np.ptp(trace.potential_ev_per_atom) > 10 * np.ptp(total)
    squeeze = lammps_compression(atoms, potential, 300.0, [0.0, 40.0], 100, 1.0, seed=3, cv_r0=2.6, chemistry=ZNO)
    assert list(squeeze.columns) == ["target_gpa", "step", "volume_per_fu", "cv", "temperature_k",
                                     "spread_mev_per_atom"]
    assert len(squeeze) == 12  # steps 0, 20, ..., 100 of each pressure, as ASE's observers
    assert squeeze.volume_per_fu.iloc[-1] < squeeze.volume_per_fu.iloc[5]


def spread_potential() -> NNPotential:
    """Two random members: their energies disagree more the farther atoms move."""
    return NNPotential.create(["Zn", "O"], ModelSettings(hidden_layers=(4,), ensemble_size=2),
                              charge=0.0, seed=5).to(torch.float64)


def test_spread_is_recorded_and_a_run_beyond_the_threshold_stops_cleanly():
    """NVE with a two-member model records the ensemble spread (the members' energies differ);
    with a threshold below the spread of the start the run stops at its first record, and
    left_the_data names that step. Without a threshold it runs to the end."""
    from ionnp.evaluate.md import left_the_data

    atoms = bulk("ZnO", "rocksalt", a=4.3, cubic=True)
    atoms.rattle(0.02, seed=1)
    model = spread_potential()
    atoms.calc = IonnpCalculator(model, spread=False)
    spread0 = 1000 * model.predict(atoms).energy_std / len(atoms)
    assert spread0 > 0
    free = atoms.copy()
    free.calc = IonnpCalculator(model, spread=False)
    full, _ = nve_drift(free, 300.0, 1.0, 50, seed=3)
    assert len(full) == 6 and full.spread_mev_per_atom.iloc[0] == pytest.approx(spread0, rel=1e-9)
    assert left_the_data(full, None) is None
    guarded = atoms.copy()
    guarded.calc = IonnpCalculator(model, spread=False)
    stopped, _ = nve_drift(guarded, 300.0, 1.0, 50, seed=3, max_spread_mev_per_atom=0.5 * spread0)
    assert len(stopped) == 1
    where = left_the_data(stopped, 0.5 * spread0)
    assert where["step"] == 0 and where["spread_mev_per_atom"] == pytest.approx(spread0, rel=1e-9)


def test_lammps_run_stops_where_the_spread_passes_the_threshold():
    """The LAMMPS path records the same spread as the ASE calculator at step 0 and stops at the
    first thermo step beyond the threshold."""
    from ionnp.evaluate.md import lammps_nve_drift

    atoms = bulk("ZnO", "rocksalt", a=4.3, cubic=True)
    atoms.rattle(0.02, seed=1)
    model = spread_potential()
    spread0 = 1000 * model.predict(atoms).energy_std / len(atoms)
    full, _ = lammps_nve_drift(atoms, model, 300.0, 1.0, 40, seed=3)
    assert len(full) == 5 and full.spread_mev_per_atom.iloc[0] == pytest.approx(spread0, rel=1e-6)
    stopped, _ = lammps_nve_drift(atoms, model, 300.0, 1.0, 40, seed=3,
                                  max_spread_mev_per_atom=0.5 * spread0)
    assert len(stopped) == 2 and stopped.step.iloc[-1] == 10


def test_md_campaign_runs_both_engines_and_summarises_them(tmp_path):
    """The rule's whole run on a 2-member tiny model: ASE and LAMMPS engines give the same
    kinds of traces; the summary counts the NVE steps and one final CV per pressure."""
    from tiny_models import potential

    from ionnp.evaluate.md import md_campaign
    from reference import zno_cell

    model = tmp_path / "model.pt"
    potential(0.9).save(model)
    md = {"engine": "ase", "temperature": 300.0, "timestep_fs": 1.0, "nve_steps": 40, "compression_temperature": 300.0,
          "compression_pressures": [0.0, 10.0], "steps_per_pressure": 40, "max_spread_mev_per_atom": None}
    for engine in ("ase", "lammps"):
        nve, squeeze, summary = md_campaign(zno_cell("wurtzite", (2, 2, 1)), model, {**md, "engine": engine},
                                            seed=3, cv_r0=2.6, chemistry=ZNO)
        assert summary["engine"] == engine and summary["n_atoms"] == 16 and summary["nve_steps_run"] == 40
        assert set(summary["final_cv_per_pressure"]) == {0.0, 10.0} and summary["nve_left_the_data"] is None
        assert np.isfinite(summary["nve_drift_mev_per_atom_per_ps"]) and len(squeeze) > 0
