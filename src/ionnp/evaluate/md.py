"""Molecular dynamics with a trained NNP: NVE energy drift and a compression run, through ASE
(:class:`~ionnp.nnp.calculator.IonnpCalculator`) or, for large cells, inside LAMMPS
(:mod:`ionnp.lammps.nnp`: Coulomb by PPPM, the network through ``fix external``).

Both start from the model's own minimum (:func:`relax`: positions and cell), not from the
empirical potential's cell: a model whose equilibrium volume differs would otherwise start
far from equilibrium, under GPa of stress, and the NVE run would measure that, not the drift.

Drift: total energy per atom against time in NVE (velocity Verlet), fitted by a straight line;
its slope (meV/atom/ps) measures how well forces and energy agree and how smooth the model is.
Compression: Berendsen NPT from wurtzite with the pressure raised in steps, recording volume,
the coordination-number CV (:mod:`ionnp.sampling.coordination`) and pressure, to see whether and where
the model transforms.

Every trace records the ensemble's energy spread (``spread_mev_per_atom``: population standard
deviation of the members' energies, per atom). Given ``max_spread_mev_per_atom``, a run stops
cleanly at the first recorded step beyond it (the model has left its training data): the trace
ends with that row, a warning names the step, and :func:`left_the_data` reports it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from ase import Atoms, units
from ase.filters import FrechetCellFilter
from ase.md.nptberendsen import NPTBerendsen
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
from ase.md.verlet import VelocityVerlet
from ase.optimize import FIRE

from ionnp.chemistry import Chemistry, formula_units
from ionnp.lammps.nnp import LammpsNNP, run_md
from ionnp.logs import ns_per_day
from ionnp.nnp.calculator import IonnpCalculator
from ionnp.nnp.potential import NNPotential
from ionnp.sampling.coordination import coordination_number

log = logging.getLogger(__name__)


class _LeftTheData(Exception):
    """Raised inside an ASE observer to stop a run whose spread passed the threshold."""

#: Steps between progress lines of the ASE NVE run.
PROGRESS_EVERY = 500


def _spread_mev_per_atom(atoms: Atoms) -> float:
    """The attached IonnpCalculator's ensemble energy spread per atom (meV/atom), NaN without."""
    results = getattr(atoms.calc, "results", {})
    return 1000.0 * results["energy_std"] / len(atoms) if "energy_std" in results else float("nan")


def _check_spread(spread: float, threshold: float | None, step: int, what: str) -> None:
    if threshold is not None and spread > threshold:
        log.warning("%s stopped at step %d: ensemble energy spread %.1f meV/atom > %.1f: the "
                    "model has left its training data", what, step, spread, threshold)
        raise _LeftTheData


def left_the_data(trace: pd.DataFrame, threshold: float | None) -> dict[str, float] | None:
    """Where a run's ensemble spread first exceeded ``threshold`` (meV/atom): the row's step
    (or time) and spread; None if it never did (or no threshold)."""
    if threshold is None or "spread_mev_per_atom" not in trace:
        return None
    beyond = trace[trace.spread_mev_per_atom > threshold]
    if beyond.empty:
        return None
    row = beyond.iloc[0]
    where = {key: float(row[key]) for key in ("step", "time_ps", "target_gpa") if key in row}
    return where | {"spread_mev_per_atom": float(row.spread_mev_per_atom), "threshold": threshold}


def relax(atoms: Atoms, fmax: float = 0.01, steps: int = 1000) -> dict[str, float | bool]:
    """Relax positions and cell of ``atoms`` (its calculator attached) at zero pressure, in
    place (FIRE on ASE's FrechetCellFilter; ``fmax`` in eV/Å, applied to the cell's generalised
    forces as well).

    Returns the volume per atom before and after (Å³), their ratio and whether it converged.
    """
    before = atoms.get_volume() / len(atoms)
    converged = FIRE(FrechetCellFilter(atoms), logfile=None).run(fmax=fmax, steps=steps)
    after = atoms.get_volume() / len(atoms)
    return {"volume_per_atom_start_a3": before, "volume_per_atom_relaxed_a3": after,
            "volume_ratio": after / before, "converged": bool(converged)}


def nve_drift(atoms: Atoms, temperature_k: float, timestep_fs: float, steps: int,
              seed: int, every: int = 10, *, max_spread_mev_per_atom: float | None = None
              ) -> tuple[pd.DataFrame, float]:
    """NVE run of ``atoms`` (its calculator attached) from Maxwell–Boltzmann velocities at 2T
    (equipartition brings it near T).

    Returns the trace (step, time_ps, total/potential energy per atom in eV, temperature in K,
    ensemble spread in meV/atom) and the drift of the total energy per atom (meV/atom/ps, slope
    of a linear fit), up to the stop if the spread passed ``max_spread_mev_per_atom``.
    """
    MaxwellBoltzmannDistribution(atoms, temperature_K=2 * temperature_k, rng=np.random.default_rng(seed))
    Stationary(atoms)
    dynamics = VelocityVerlet(atoms, timestep=timestep_fs * units.fs)
    rows = []
    started = time.perf_counter()

    def record() -> None:
        n = len(atoms)
        rows.append(dict(step=dynamics.nsteps, time_ps=dynamics.nsteps * timestep_fs / 1000.0,
                         total_ev_per_atom=atoms.get_total_energy() / n,
                         potential_ev_per_atom=atoms.get_potential_energy() / n,
                         temperature_k=atoms.get_temperature(),
                         spread_mev_per_atom=_spread_mev_per_atom(atoms)))
        if dynamics.nsteps and dynamics.nsteps % PROGRESS_EVERY == 0:
            log.info("NVE: step %d / %d, T %.0f K, %.3f ns/day", dynamics.nsteps, steps,
                     rows[-1]["temperature_k"], ns_per_day(dynamics.nsteps, timestep_fs, time.perf_counter() - started))
        _check_spread(rows[-1]["spread_mev_per_atom"], max_spread_mev_per_atom, dynamics.nsteps, "NVE")

    dynamics.attach(record, interval=every)
    try:
        dynamics.run(steps)
    except _LeftTheData:
        pass
    trace = pd.DataFrame(rows)
    return trace, energy_drift(trace)


def energy_drift(trace: pd.DataFrame) -> float:
    """Slope of a straight line through total energy per atom against time (meV/atom/ps); NaN
    for a trace of fewer than two rows (a run stopped at its start)."""
    if len(trace) < 2:
        return float("nan")
    return 1000.0 * float(np.polyfit(trace.time_ps, trace.total_ev_per_atom, 1)[0])


def lammps_nve_drift(atoms: Atoms, model: str | os.PathLike | NNPotential, temperature_k: float,
                     timestep_fs: float, steps: int, seed: int, every: int = 10, *,
                     max_spread_mev_per_atom: float | None = None) -> tuple[pd.DataFrame, float]:
    """:func:`nve_drift` inside LAMMPS: Gaussian velocities at 2T (``seed``), same trace."""
    start = atoms.copy()
    start.set_momenta(np.zeros((len(atoms), 3)))
    n = len(atoms)
    started = time.perf_counter()
    thermo = run_md(start, model, steps, timestep_fs, ensemble="nve", temperature_k=2 * temperature_k,
                    thermo_every=every, seed=seed % 900_000_000 + 1,
                    max_energy_spread_ev=_per_structure(max_spread_mev_per_atom, n)).thermo
    done = int(thermo.step.iloc[-1] - thermo.step.iloc[0])
    log.info("NVE (LAMMPS): %d steps, %d atoms, %.3f ns/day", done, n,
             ns_per_day(done, timestep_fs, time.perf_counter() - started))
    trace = pd.DataFrame({"step": thermo.step - thermo.step.iloc[0],
                          "time_ps": thermo.time_ps - thermo.time_ps.iloc[0],
                          "total_ev_per_atom": thermo.total_ev / n,
                          "potential_ev_per_atom": thermo.potential_ev / n,
                          "temperature_k": thermo.temperature_k,
                          "spread_mev_per_atom": 1000.0 * thermo.energy_spread_ev / n})
    return trace, energy_drift(trace)


def _per_structure(threshold_mev_per_atom: float | None, n_atoms: int) -> float | None:
    """A per-atom spread threshold (meV/atom) as an energy spread of the structure (eV)."""
    return None if threshold_mev_per_atom is None else threshold_mev_per_atom * n_atoms / 1000.0


def compression(atoms: Atoms, temperature_k: float, pressures_gpa: list[float], steps_per_pressure: int,
                timestep_fs: float, seed: int, every: int = 20, *, cv_r0: float, chemistry: Chemistry,
                max_spread_mev_per_atom: float | None = None) -> pd.DataFrame:
    """Berendsen NPT through ``pressures_gpa`` in turn; trace of pressure, volume, CN of the
    ``chemistry``'s cations and anions (switching distance ``cv_r0``, Å, the sampling CV's) and
    the ensemble spread, up to the stop if the spread passed ``max_spread_mev_per_atom``."""
    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature_k, rng=np.random.default_rng(seed))
    Stationary(atoms)
    rows = []
    cations, anions = chemistry.cations, chemistry.anions
    for pressure in pressures_gpa:
        dynamics = NPTBerendsen(atoms, timestep=timestep_fs * units.fs, temperature_K=temperature_k,
                                pressure_au=pressure * units.GPa, taut=100 * units.fs,
                                taup=500 * units.fs, compressibility_au=1 / (150 * units.GPa))

        def record(dynamics=dynamics, pressure=pressure) -> None:
            rows.append(dict(target_gpa=pressure, step=len(rows) * every,
                             volume_per_fu=atoms.get_volume() / formula_units(atoms),
                             cv=coordination_number(atoms, cations, anions, cv_r0),
                             temperature_k=atoms.get_temperature(),
                             spread_mev_per_atom=_spread_mev_per_atom(atoms)))
            _check_spread(rows[-1]["spread_mev_per_atom"], max_spread_mev_per_atom, rows[-1]["step"],
                          f"compression at {pressure:g} GPa")

        dynamics.attach(record, interval=every)
        started = time.perf_counter()
        try:
            dynamics.run(steps_per_pressure)
        except _LeftTheData:
            break
        log.info("compression: %g GPa done, CV %.2f, %.3f ns/day", pressure, rows[-1]["cv"],
                 ns_per_day(steps_per_pressure, timestep_fs, time.perf_counter() - started))
    return pd.DataFrame(rows)


def lammps_compression(atoms: Atoms, model: str | os.PathLike | NNPotential, temperature_k: float,
                       pressures_gpa: list[float], steps_per_pressure: int, timestep_fs: float,
                       seed: int, every: int = 20, *, cv_r0: float, chemistry: Chemistry,
                       max_spread_mev_per_atom: float | None = None) -> pd.DataFrame:
    """:func:`compression` inside LAMMPS (Nosé–Hoover thermostat and a fully flexible MTK
    barostat instead of Berendsen), same trace. A model that comes apart (LAMMPS loses atoms)
    ends the run with a warning: the trace up to the last completed pressure is returned."""
    rows = []
    n = len(atoms)
    with LammpsNNP(atoms, model) as md:
        md.create_velocities(temperature_k, seed % 900_000_000 + 1)
        cations, anions = chemistry.cations, chemistry.anions
        for pressure in pressures_gpa:
            started = time.perf_counter()
            try:
                result = md.run(steps_per_pressure, timestep_fs, ensemble="npt", temperature_k=temperature_k,
                                pressure_gpa=pressure, thermo_every=every, frames_every=every,
                                max_energy_spread_ev=_per_structure(max_spread_mev_per_atom, n))
            except Exception as error:  # LAMMPS raises a bare Exception
                log.warning("compression stopped at %g GPa: %s", pressure, error)
                break
            for frame, spread in zip(result.frames, result.thermo.energy_spread_ev):
                rows.append(dict(target_gpa=pressure, step=len(rows) * every,
                                 volume_per_fu=frame.get_volume() / formula_units(frame),
                                 cv=coordination_number(frame, cations, anions, cv_r0),
                                 temperature_k=frame.get_temperature(),
                                 spread_mev_per_atom=1000.0 * spread / n))
            if result.stopped_at is not None:
                log.warning("compression stopped at %g GPa, step %d: the model has left its "
                            "training data", pressure, result.stopped_at)
                break
            log.info("compression (LAMMPS): %g GPa done, CV %.2f, %.3f ns/day", pressure, rows[-1]["cv"],
                     ns_per_day(steps_per_pressure, timestep_fs, time.perf_counter() - started))
    return pd.DataFrame(rows)


def md_campaign(start: Atoms, model: str | os.PathLike, md: Mapping[str, Any], seed: int,
                cv_r0: float, chemistry: Chemistry) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Rule md: relax ``start`` with the model, then the NVE run and the compression of the
    ``md`` config section (``engine`` ase or lammps), each stopped by the spread guard.

    Returns:
        The NVE trace, the compression trace and the summary (drift in meV/atom/ps, where each
        run left the data, the final CV per pressure, the relaxation).
    """
    start = start.copy()
    start.calc = IonnpCalculator(model, spread=False)
    relaxed = relax(start)
    log.info("relaxed with the model: %s", relaxed)
    guard = {"max_spread_mev_per_atom": md["max_spread_mev_per_atom"]}
    if md["engine"] == "lammps":
        nve, drift = lammps_nve_drift(start, model, md["temperature"], md["timestep_fs"], md["nve_steps"], seed,
                                      **guard)
        squeeze = lammps_compression(start, model, md["compression_temperature"], md["compression_pressures"],
                                     md["steps_per_pressure"], md["timestep_fs"], seed, cv_r0=cv_r0,
                                     chemistry=chemistry, **guard)
    else:
        atoms = start.copy()
        atoms.calc = IonnpCalculator(model, spread=False)
        nve, drift = nve_drift(atoms, md["temperature"], md["timestep_fs"], md["nve_steps"], seed, **guard)
        atoms = start.copy()
        atoms.calc = IonnpCalculator(model, spread=False)
        squeeze = compression(atoms, md["compression_temperature"], md["compression_pressures"],
                              md["steps_per_pressure"], md["timestep_fs"], seed, cv_r0=cv_r0,
                                     chemistry=chemistry, **guard)
    summary = {"nve_drift_mev_per_atom_per_ps": drift, "n_atoms": len(start), "engine": md["engine"],
               "relaxation": relaxed, "nve_mean_temperature_k": float(nve.temperature_k.mean()),
               "nve_steps_run": int(nve.step.iloc[-1]),
               "nve_max_spread_mev_per_atom": float(nve.spread_mev_per_atom.max()),
               "nve_left_the_data": left_the_data(nve, md["max_spread_mev_per_atom"]),
               "compression_left_the_data": left_the_data(squeeze, md["max_spread_mev_per_atom"]),
               "final_cv_per_pressure": squeeze.groupby("target_gpa").cv.last().to_dict()}
    return nve, squeeze, summary
