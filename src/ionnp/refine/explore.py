"""Exploration of a refinement round: the previous round's model drives LAMMPS MD where the
one-shot data may not reach, and every run's snapshots are the round's candidates.

Three protocols, on cells DFT can label (``refine.explore``):

* ``npt``: Nosé–Hoover NPT (fully flexible cell) of each explored phase at each temperature (K)
  and pressure (GPa) of the grid, from the phase's empirical cell relaxed at that pressure;
* ``deform``: the ground state (and the high-pressure phase) deformed at constant rate in NVT,
  by LAMMPS's ``fix deform``: a length (``x``, ``y``, ``z``: tension to the final strain) or a
  tilt (``xy``, ``xz``, ``yz``: engineering shear strain γ = Δtilt / the perpendicular length),
  to failure if the strain is large enough;
* ``hot``: NPT at 0 GPa at a melting temperature (the paper samples amorphous motifs at 2000 K).

A run stops cleanly when the ensemble's energy spread passes the upper trust level (what follows
would be a trajectory of a model outside everything it knows); the snapshots up to there are kept.
Each snapshot carries ``protocol`` (e.g. ``npt <phase> T1200 P15``), ``explore_step`` and
``phase`` in ``info``; the model's own labels are dropped (DFT labels the chosen ones).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms

from ionnp.lammps.nnp import LammpsNNP
from ionnp.nnp.potential import NNPotential

log = logging.getLogger("ionnp")

#: LAMMPS ``fix deform`` dimensions: the three lengths and the three tilts.
LENGTHS, TILTS = ("x", "y", "z"), ("xy", "xz", "yz")


@dataclass(frozen=True)
class ExploreSettings:
    """``refine.explore``: the NPT grid, the deformations, the hot run, the MD settings.

    Attributes:
        temperatures: K; pressures: GPa (each among ``prototypes.pressures``).
        deform: dimension → final strain (fraction), see the module docstring.
        deform_temperature: K of the deformation runs. hot_temperature: K of the hot run.
        steps: MD steps of every run; every: steps between snapshots; timestep_fs: fs.
    """

    temperatures: tuple[float, ...]
    pressures: tuple[float, ...]
    deform: Mapping[str, float]
    deform_temperature: float
    hot_temperature: float | None
    steps: int
    every: int
    timestep_fs: float

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> ExploreSettings:
        return cls(tuple(section["temperatures"]), tuple(section["pressures"]), dict(section["deform"]),
                   section["deform_temperature"], section["hot_temperature"], section["steps"],
                   section["every"], section["timestep_fs"])


def deform_command(dimension: str, strain: float, atoms: Atoms) -> str:
    """``fix deform`` reaching ``strain`` along ``dimension`` over the run (LAMMPS frame: a along
    x, b in the xy plane; lengths scale, tilts move by γ × the perpendicular length).

    Raises:
        ValueError: an unknown dimension (names ``refine.explore.deform``).
    """
    if dimension in LENGTHS:
        return f"fix explore_deform all deform 1 {dimension} scale {float(1.0 + strain)!r} remap x"
    if dimension in TILTS:
        # LAMMPS's ly = |a × b| / |a| (the xy tilt's reference), lz = V / |a × b| (xz's and yz's)
        a, b, _ = atoms.cell.array
        area = np.linalg.norm(np.cross(a, b))
        length = area / np.linalg.norm(a) if dimension == "xy" else atoms.get_volume() / area
        return f"fix explore_deform all deform 1 {dimension} delta {float(strain * length)!r} remap x"
    raise ValueError(f"refine.explore.deform.{dimension}: a LAMMPS fix deform dimension "
                     f"({', '.join(LENGTHS + TILTS)}) is needed")


def _run(md: LammpsNNP, settings: ExploreSettings, ensemble: str, temperature: float, pressure: float,
         max_spread_ev_per_atom: float, n_atoms: int) -> list[Atoms]:
    result = md.run(settings.steps, settings.timestep_fs, ensemble=ensemble, temperature_k=temperature,
                    pressure_gpa=pressure, thermo_every=settings.every, frames_every=settings.every,
                    max_energy_spread_ev=max_spread_ev_per_atom * n_atoms)
    frames = result.frames[1:]  # the start is known
    for atoms, step in zip(frames, range(settings.every, settings.steps + 1, settings.every)):
        atoms.info["explore_step"] = step
        atoms.calc = None
    if result.stopped_at is not None:
        log.info("stopped at step %d: the spread passed the upper trust level", result.stopped_at)
    return frames


def explore_run(start: Atoms, model: NNPotential, protocol: str, settings: ExploreSettings, *,
                temperature: float, pressure: float = 0.0, deform: tuple[str, float] | None = None,
                max_spread_ev_per_atom: float, seed: int) -> list[Atoms]:
    """One exploration run from ``start`` (its velocities drawn at ``temperature`` with ``seed``):
    NPT at ``pressure`` (GPa), or NVT under ``deform`` = (dimension, final strain). Returns the
    snapshots after the start, labelled with ``protocol`` (see the module docstring)."""
    atoms = start.copy()
    atoms.calc = None
    with LammpsNNP(atoms, model) as md:
        md.create_velocities(temperature, seed)
        if deform is None:
            frames = _run(md, settings, "npt", temperature, pressure, max_spread_ev_per_atom, len(atoms))
        else:
            md.command(deform_command(*deform, atoms))
            try:
                frames = _run(md, settings, "nvt", temperature, 0.0, max_spread_ev_per_atom, len(atoms))
            finally:
                md.command("unfix explore_deform")
    for frame in frames:
        frame.info.update(protocol=protocol, phase=start.info.get("phase", ""))
    log.info("%s: %d snapshots", protocol, len(frames))
    return frames


def explore(grid: Mapping[tuple[str, float], Atoms], deformed: Mapping[str, Atoms], model: NNPotential,
            settings: ExploreSettings, *, max_spread_ev_per_atom: float, seed: int) -> list[Atoms]:
    """Every run of a round: NPT at every temperature from each cell of ``grid`` ((phase,
    pressure) → the empirical cell relaxed there, run at that pressure), and the deformations
    and the hot run from each cell of ``deformed`` (phase → its 0 GPa cell). Run k's velocities
    are seeded ``seed + k``; ``max_spread_ev_per_atom`` stops a run (eV/atom)."""
    runs: list[tuple[str, Atoms, dict]] = []
    for (phase, pressure), start in grid.items():
        for temperature in settings.temperatures:
            runs.append((f"npt {phase} T{temperature:g} P{pressure:g}", start,
                         dict(temperature=temperature, pressure=pressure)))
    for phase, start in deformed.items():
        for dimension, strain in settings.deform.items():
            runs.append((f"deform {phase} {dimension} {strain:g}", start,
                         dict(temperature=settings.deform_temperature, deform=(dimension, strain))))
        if settings.hot_temperature is not None:
            runs.append((f"hot {phase} T{settings.hot_temperature:g}", start,
                         dict(temperature=settings.hot_temperature, pressure=0.0)))
    frames = []
    for k, (protocol, start, options) in enumerate(runs):
        frames += explore_run(start, model, protocol, settings, max_spread_ev_per_atom=max_spread_ev_per_atom,
                              seed=seed + k, **options)
    return frames


__all__ = ["ExploreSettings", "deform_command", "explore", "explore_run"]
