"""Sampling: well-tempered metadynamics with the empirical potential, and frame labelling.

One run starts from a relaxed prototype, heats it to T in NPT at pressure P with a fully
flexible cell (``fix npt ... tri``), and biases the mean Zn–O coordination number
(:mod:`ionnp.coordination`) through ``fix external`` so that the run climbs from 4-fold to
5- and 6-fold coordination and the pool holds transition paths, not only minima. The dynamics
use fast Ewald settings; every written frame is then relabelled with the precise ones:

- total energy, forces, stress (Buckingham + Coulomb);
- the Buckingham part alone: total, per-atom energies (½ of each pair), forces, stress;
- the Coulomb part alone (a third evaluation), so total = Buckingham + Coulomb is a check;
- CV value, instantaneous T (K) and P (GPa), step, phase of origin, T and P of the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from ionnp.coordination import CoordinationCV
from ionnp.lammps_engine import GPA_TO_BAR, LammpsCell, evaluate
from ionnp.metadynamics import WellTemperedMetadynamics
from ionnp.potential import RigidIonPotential

log = logging.getLogger(__name__)


class SamplingError(RuntimeError):
    """A run failed (LAMMPS error, lost atoms, runaway temperature); frames so far are kept."""

    def __init__(self, message: str, frames: list[Atoms]) -> None:
        super().__init__(message)
        self.frames = frames


@dataclass(frozen=True)
class RunSettings:
    """Everything one metadynamics run needs (units: K, GPa, fs, eV, Å)."""

    temperature: float
    pressure_gpa: float
    seed: int
    timestep_fs: float
    steps: int
    write_every: int
    thermostat_damping_fs: float
    barostat_damping_fs: float
    kspace_accuracy: float
    max_temperature_factor: float
    cv_r0: float
    hill_height: float
    hill_width: float
    pace: int
    bias_temperature: float
    walls: tuple[float, float]
    wall_constant: float

    @classmethod
    def from_config(cls, section: Mapping[str, Any], temperature: float, pressure_gpa: float,
                    seed: int) -> "RunSettings":
        """Settings of one run from the validated ``sampling`` section."""
        metad = section["metadynamics"]
        scalars = {key: section[key] for key in (
            "timestep_fs", "steps", "write_every", "thermostat_damping_fs",
            "barostat_damping_fs", "kspace_accuracy", "max_temperature_factor")}
        return cls(temperature=float(temperature), pressure_gpa=float(pressure_gpa), seed=seed,
                   **scalars, **{k: v for k, v in metad.items() if k != "walls"},
                   walls=tuple(metad["walls"]))


@dataclass
class RunResult:
    """Unlabelled frames and the per-step trace of a run."""

    frames: list[Atoms]
    trace: pd.DataFrame  # step, time_ps, cv, bias_ev, temperature_k, pressure_gpa, volume
    metadynamics: WellTemperedMetadynamics


class _BiasCallback:
    """``fix external`` callback: adds −U'(CN) ∂CN/∂r to the forces and the bias virial."""

    def __init__(self, cell: LammpsCell, cv: CoordinationCV, metad: WellTemperedMetadynamics,
                 pace: int) -> None:
        self.cell, self.cv, self.metad, self.pace = cell, cv, metad, pace
        self.value = float("nan")
        self.energy = 0.0
        self.error: Exception | None = None

    def __call__(self, caller: object, step: int, nlocal: int, tags: np.ndarray,
                 x: np.ndarray, fext: np.ndarray) -> None:
        # LAMMPS swallows exceptions raised here: keep the first one for the driver to raise.
        try:
            self._apply(step, nlocal, tags, x, fext)
        except Exception as error:  # noqa: BLE001 - re-raised by run_metadynamics
            fext[:nlocal] = 0.0
            self.error = self.error or error

    def _apply(self, step: int, nlocal: int, tags: np.ndarray, x: np.ndarray,
               fext: np.ndarray) -> None:
        n_atoms = len(self.cv.cations) + len(self.cv.anions)
        if nlocal != n_atoms:
            raise RuntimeError(f"{n_atoms - nlocal} atoms lost at step {step}")
        order = np.argsort(tags[:nlocal])
        positions = np.asarray(x[:nlocal])[order]
        value, gradient, pair_term = self.cv.evaluate(positions, self.cell.lammps_frame_cell())
        if step > 0 and step % self.pace == 0:
            self.metad.deposit(value)
        energy, slope = self.metad.bias(value)
        fext[:nlocal] = 0.0
        fext[order] = -slope * gradient  # row k of the sorted arrays is local atom order[k]
        virial = -slope * pair_term
        lmp = self.cell.lmp
        lmp.fix_external_set_energy_global("bias", energy)
        lmp.fix_external_set_virial_global(
            "bias", [virial[0, 0], virial[1, 1], virial[2, 2], virial[0, 1], virial[0, 2], virial[1, 2]])
        self.value, self.energy = value, energy


def run_metadynamics(
    start: Atoms,
    potential: RigidIonPotential,
    settings: RunSettings,
    *,
    name: str,
    log_file: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Run well-tempered metadynamics from ``start``; return frames every ``write_every`` steps.

    Args:
        start: starting cell, cations first.
        potential: the empirical potential.
        settings: run settings.
        name: the run's name in messages (phase, T, P, walker).
        log_file: LAMMPS log.
        progress: called with (step, total steps) after each written frame.

    Raises:
        SamplingError: LAMMPS failed or the temperature ran away; carries the frames so far.
    """
    s = settings
    cell = LammpsCell(start, potential, md_accuracy=s.kspace_accuracy, log_file=log_file)
    cv = CoordinationCV.for_atoms(start, r0=s.cv_r0)
    metad = WellTemperedMetadynamics(s.hill_height, s.hill_width, s.bias_temperature,
                                     s.temperature, s.walls, s.wall_constant)
    bias = _BiasCallback(cell, cv, metad, s.pace)
    p_bar = s.pressure_gpa * GPA_TO_BAR
    lmp = cell.lmp
    lmp.commands_list([
        f"timestep {s.timestep_fs / 1000.0!r}",
        f"velocity all create {s.temperature!r} {s.seed % 900_000_000 + 1} mom yes rot no dist gaussian",
        f"fix md all npt temp {s.temperature!r} {s.temperature!r} {s.thermostat_damping_fs / 1000.0!r} "
        f"tri {p_bar!r} {p_bar!r} {s.barostat_damping_fs / 1000.0!r}",
        "fix bias all external pf/callback 1 1",
        "fix_modify bias energy yes virial yes",
        "thermo_style custom step temp press pe vol",
    ])
    lmp.set_fix_external_callback("bias", bias)
    frames: list[Atoms] = []
    rows: list[dict[str, float]] = []
    try:
        for step in range(s.write_every, s.steps + 1, s.write_every):
            lmp.command(f"run {s.write_every} pre {'yes' if step == s.write_every else 'no'} post no")
            if bias.error is not None:
                raise bias.error
            temperature = float(lmp.get_thermo("temp"))
            atoms = cell.lammps_frame_atoms()
            row = dict(step=step, time_ps=step * s.timestep_fs / 1000.0, cv=bias.value,
                       bias_ev=bias.energy, temperature_k=temperature,
                       pressure_gpa=float(lmp.get_thermo("press")) / GPA_TO_BAR,
                       volume=atoms.get_volume())
            rows.append(row)
            atoms.info.update(step=step, cv=bias.value, temperature_k=temperature,
                              pressure_gpa=row["pressure_gpa"])
            frames.append(atoms)
            if temperature > s.max_temperature_factor * s.temperature:
                raise SamplingError(f"run {name}: temperature {temperature:.0f} K at step {step} "
                                    f"exceeds {s.max_temperature_factor}× the target", frames)
            if progress:
                progress(step, s.steps)
    except SamplingError:
        raise
    except Exception as error:  # LAMMPS raises plain Exception ("ERROR: Lost atoms ...")
        raise SamplingError(f"run {name}: LAMMPS stopped after {len(frames)} frames: {error}",
                            frames) from error
    finally:
        cell.close()
    return RunResult(frames, pd.DataFrame(rows), metad)


def label_frame(atoms: Atoms, potential: RigidIonPotential) -> Atoms:
    """A copy of ``atoms`` with precise empirical labels (see the module docstring).

    Total labels go to a single-point calculator (energy, forces, stress); the parts to
    ``info`` (``buck_energy``, ``buck_stress``, ``coul_energy``) and ``arrays``
    (``buck_energies``, ``buck_forces``).
    """
    total = evaluate(atoms, potential)
    buck = evaluate(atoms, potential, coulomb=False)
    coul = evaluate(atoms, replace(potential, pairs={}))
    labelled = atoms.copy()
    labelled.info.update(buck_energy=buck.energy, buck_stress=buck.stress, coul_energy=coul.energy)
    labelled.arrays["buck_energies"] = buck.energies
    labelled.arrays["buck_forces"] = buck.forces
    labelled.calc = SinglePointCalculator(labelled, energy=total.energy, forces=total.forces,
                                          stress=total.stress)
    return labelled


def run_label(phase: str, temperature: float, pressure_gpa: float, walker: int) -> str:
    """Name of a run in messages and files: ``wurtzite T1200 P30 w0``."""
    return f"{phase} T{temperature:g} P{pressure_gpa:g} w{walker}"




def pool_index(frames: Iterable[Atoms]) -> pd.DataFrame:
    """One row per pool frame: phase, T, P of its run, walker, step, CV, instantaneous T and
    P, volume per formula unit, energies per atom (total, Buckingham, Coulomb)."""
    rows = []
    for k, atoms in enumerate(frames):
        n = len(atoms)
        rows.append(dict(
            frame=k, phase=atoms.info["phase"], run_temperature_k=atoms.info["run_temperature_k"],
            run_pressure_gpa=atoms.info["run_pressure_gpa"], walker=atoms.info["walker"],
            step=atoms.info["step"], cv=atoms.info["cv"], temperature_k=atoms.info["temperature_k"],
            pressure_gpa=atoms.info["pressure_gpa"], n_atoms=n,
            volume_per_fu=atoms.get_volume() / (n / 2),
            energy_per_atom=atoms.get_potential_energy() / n,
            buck_energy_per_atom=atoms.info["buck_energy"] / n,
            coul_energy_per_atom=atoms.info["coul_energy"] / n,
        ))
    return pd.DataFrame(rows)


def sample(
    start: Atoms,
    potential: RigidIonPotential,
    settings: RunSettings,
    *,
    phase: str,
    walker: int,
    log_file: str | None = None,
) -> tuple[list[Atoms], RunResult]:
    """Run one metadynamics run and label its frames; log progress every ~10 %.

    Frames carry ``phase``, ``run_temperature_k``, ``run_pressure_gpa`` and ``walker`` in
    ``info`` besides the labels of :func:`label_frame`.

    Raises:
        SamplingError: as :func:`run_metadynamics`, with the frames so far labelled.
    """
    name = run_label(phase, settings.temperature, settings.pressure_gpa, walker)
    tags = dict(phase=phase, run_temperature_k=settings.temperature,
                run_pressure_gpa=settings.pressure_gpa, walker=walker)
    tenth = max(settings.steps // 10, 1)

    def progress(step: int, total: int) -> None:
        if step % tenth < settings.write_every:
            log.info("%s: step %d / %d", name, step, total)

    def labelled(frames: list[Atoms]) -> list[Atoms]:
        out = []
        for atoms in frames:
            atoms.info.update(tags)
            out.append(label_frame(atoms, potential))
        log.info("%s: labelled %d frames", name, len(out))
        return out

    try:
        result = run_metadynamics(start, potential, settings, name=name, log_file=log_file,
                                  progress=progress)
    except SamplingError as error:
        error.frames = labelled(error.frames)
        raise
    return labelled(result.frames), result
