"""Molecular dynamics with a trained NNP: NVE energy drift and a compression run, through ASE
(:class:`~ionnp.calculator.IonnpCalculator`) or, for large cells, inside LAMMPS
(:mod:`ionnp.lammps_md`: Coulomb by PPPM, the network through ``fix external``).

Both start from the model's own minimum (:func:`relax`: positions and cell), not from the
empirical potential's cell: a model whose equilibrium volume differs would otherwise start
far from equilibrium, under GPa of stress, and the NVE run would measure that, not the drift.

Drift: total energy per atom against time in NVE (velocity Verlet), fitted by a straight line;
its slope (meV/atom/ps) measures how well forces and energy agree and how smooth the model is.
Compression: Berendsen NPT from wurtzite with the pressure raised in steps, recording volume,
the coordination-number CV (:mod:`ionnp.coordination`) and pressure, to see whether and where
the model transforms.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd
from ase import Atoms, units
from ase.filters import FrechetCellFilter
from ase.md.nptberendsen import NPTBerendsen
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
from ase.md.verlet import VelocityVerlet
from ase.optimize import FIRE

from ionnp.coordination import coordination_number
from ionnp.lammps_md import LammpsNNP, run_md
from ionnp.model import NNPotential

log = logging.getLogger(__name__)


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
              seed: int, every: int = 10) -> tuple[pd.DataFrame, float]:
    """NVE run of ``atoms`` (its calculator attached) from Maxwell–Boltzmann velocities at 2T
    (equipartition brings it near T).

    Returns the trace (time_ps, total/potential energy per atom in eV, temperature in K) and the
    drift of the total energy per atom (meV/atom/ps, slope of a linear fit).
    """
    MaxwellBoltzmannDistribution(atoms, temperature_K=2 * temperature_k, rng=np.random.default_rng(seed))
    Stationary(atoms)
    return _trace_nve(atoms, timestep_fs, steps, every)


def _trace_nve(atoms: Atoms, timestep_fs: float, steps: int, every: int) -> tuple[pd.DataFrame, float]:
    dynamics = VelocityVerlet(atoms, timestep=timestep_fs * units.fs)
    rows = []

    def record() -> None:
        n = len(atoms)
        rows.append(dict(time_ps=dynamics.nsteps * timestep_fs / 1000.0,
                         total_ev_per_atom=atoms.get_total_energy() / n,
                         potential_ev_per_atom=atoms.get_potential_energy() / n,
                         temperature_k=atoms.get_temperature()))

    dynamics.attach(record, interval=every)
    dynamics.run(steps)
    trace = pd.DataFrame(rows)
    return trace, energy_drift(trace)


def energy_drift(trace: pd.DataFrame) -> float:
    """Slope of a straight line through total energy per atom against time (meV/atom/ps)."""
    return 1000.0 * float(np.polyfit(trace.time_ps, trace.total_ev_per_atom, 1)[0])


def lammps_nve_drift(atoms: Atoms, model: str | os.PathLike | NNPotential, temperature_k: float,
                     timestep_fs: float, steps: int, seed: int, every: int = 10
                     ) -> tuple[pd.DataFrame, float]:
    """:func:`nve_drift` inside LAMMPS: Gaussian velocities at 2T (``seed``), same trace."""
    start = atoms.copy()
    start.set_momenta(np.zeros((len(atoms), 3)))
    thermo = run_md(start, model, steps, timestep_fs, ensemble="nve", temperature_k=2 * temperature_k,
                    thermo_every=every, seed=seed % 900_000_000 + 1).thermo
    n = len(atoms)
    trace = pd.DataFrame({"time_ps": thermo.time_ps - thermo.time_ps.iloc[0],
                          "total_ev_per_atom": thermo.total_ev / n,
                          "potential_ev_per_atom": thermo.potential_ev / n,
                          "temperature_k": thermo.temperature_k})
    return trace, energy_drift(trace)


def compression(atoms: Atoms, temperature_k: float, pressures_gpa: list[float], steps_per_pressure: int,
                timestep_fs: float, seed: int, every: int = 20) -> pd.DataFrame:
    """Berendsen NPT through ``pressures_gpa`` in turn; trace of pressure, volume and CN."""
    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature_k, rng=np.random.default_rng(seed))
    Stationary(atoms)
    rows = []
    for pressure in pressures_gpa:
        dynamics = NPTBerendsen(atoms, timestep=timestep_fs * units.fs, temperature_K=temperature_k,
                                pressure_au=pressure * units.GPa, taut=100 * units.fs,
                                taup=500 * units.fs, compressibility_au=1 / (150 * units.GPa))

        def record(dynamics=dynamics, pressure=pressure) -> None:
            rows.append(dict(target_gpa=pressure, step=len(rows) * every,
                             volume_per_fu=atoms.get_volume() / (len(atoms) / 2),
                             cv=coordination_number(atoms), temperature_k=atoms.get_temperature()))

        dynamics.attach(record, interval=every)
        dynamics.run(steps_per_pressure)
    return pd.DataFrame(rows)


def lammps_compression(atoms: Atoms, model: str | os.PathLike | NNPotential, temperature_k: float,
                       pressures_gpa: list[float], steps_per_pressure: int, timestep_fs: float,
                       seed: int, every: int = 20) -> pd.DataFrame:
    """:func:`compression` inside LAMMPS (Nosé–Hoover thermostat and a fully flexible MTK
    barostat instead of Berendsen), same trace. A model that comes apart (LAMMPS loses atoms)
    ends the run with a warning: the trace up to the last completed pressure is returned."""
    rows = []
    with LammpsNNP(atoms, model) as md:
        md.create_velocities(temperature_k, seed % 900_000_000 + 1)
        for pressure in pressures_gpa:
            try:
                frames = md.run(steps_per_pressure, timestep_fs, ensemble="npt", temperature_k=temperature_k,
                                pressure_gpa=pressure, thermo_every=every, frames_every=every).frames
            except Exception as error:  # LAMMPS raises a bare Exception
                log.warning("compression stopped at %g GPa: %s", pressure, error)
                break
            for frame in frames:
                rows.append(dict(target_gpa=pressure, step=len(rows) * every,
                                 volume_per_fu=frame.get_volume() / (len(frame) / 2),
                                 cv=coordination_number(frame), temperature_k=frame.get_temperature()))
    return pd.DataFrame(rows)
