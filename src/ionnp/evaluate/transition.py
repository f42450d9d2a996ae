"""The transition of the ground state to the high-pressure phase (``prototypes.roles``: for ZnO
wurtzite → rocksalt) under a pressure ramp, in LAMMPS, for the final NNP and for the empirical
potential side by side.

A supercell of the ground state is held at each pressure of ``pressures`` in turn (Nosé–Hoover
thermostat, fully flexible MTK barostat), up to the highest and back down again, and a trace
row is read every ``every`` steps: time, target and instantaneous pressure, temperature,
volume and potential enthalpy per formula unit (E_pot + P_target V), the coordination-number CV
(:func:`ionnp.sampling.coordination.coordination_number`) and, for the NNP, the ensemble's
energy spread; a frame every ``frames_every`` steps. An NNP run whose spread passes
``max_spread_mev_per_atom`` stops cleanly there (the model has left its data) and keeps what
it recorded.

A ramp killed midway (a job's wall time) resumes: after each block the dynamic state (box,
positions, velocities, image flags: :func:`ionnp.lammps.box.dynamic_state`), the trace and the
frames so far go to a checkpoint, stamped with the fingerprint of everything that determines the
ramp (settings, start structure, potential or model file, seed); a rerun with the same
fingerprint starts after the last finished block instead of from the start.

Transition pressures (:func:`transition_pressures`): on the way up, the first pressure whose
block ends (its second half) with a volume collapsed past half-way from the potential's own
ground-state V(P) towards the high-pressure phase; on the way down, the first block after it that has expanded
back.
Their difference is the hysteresis; the forward value lies above the thermodynamic one (the
DFT EOS crossing) by the overpressure the kinetics of a finite, periodic cell need.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from ase import Atoms
from ase.units import GPa

from ionnp.chemistry import Chemistry, formula_units
from ionnp.evaluate.eos import BirchMurnaghan
from ionnp.io import atomic_path, write_extxyz
from ionnp.lammps.box import GPA_TO_BAR, dynamic_state, restore_dynamic_state
from ionnp.lammps.integrators import integrator
from ionnp.lammps.empirical import LammpsCell
from ionnp.lammps.nnp import LammpsNNP
from ionnp.logs import ns_per_day
from ionnp.sampling.coordination import coordination_number
from ionnp.potential import RigidIonPotential

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RampSettings:
    """The ``transition`` config section.

    Attributes:
        supercell: repetition of the relaxed 0 GPa ground-state cell.
        temperature_k: thermostat temperature (K).
        pressures_gpa: the way up (GPa); the ramp comes back down through the same values.
        steps_per_pressure: MD steps at each pressure.
        timestep_fs: fs.
        every: steps between trace rows; frames_every: steps between frames (a multiple of it).
        max_spread_mev_per_atom: stop the NNP run beyond this ensemble spread; None: never.
        cv_r0: switching distance (Å) of the coordination CV (the sampling's, config
            ``sampling.metadynamics.cv_r0``).
    """

    supercell: tuple[int, int, int]
    temperature_k: float
    pressures_gpa: tuple[float, ...]
    steps_per_pressure: int
    timestep_fs: float
    every: int
    frames_every: int
    max_spread_mev_per_atom: float | None
    cv_r0: float

    @classmethod
    def from_config(cls, section: Mapping[str, Any], cv_r0: float) -> RampSettings:
        """From the ``transition`` section and the sampling CV's ``cv_r0`` (Å)."""
        return cls(tuple(section["supercell"]), float(section["temperature"]),
                   tuple(float(p) for p in section["pressures"]), int(section["steps_per_pressure"]),
                   float(section["timestep_fs"]), int(section["every"]), int(section["frames_every"]),
                   section["max_spread_mev_per_atom"], float(cv_r0))

    @property
    def ramp(self) -> list[float]:
        """Target pressure of every block (GPa): up, then back down."""
        up = list(self.pressures_gpa)
        return up + up[-2::-1]


class Checkpoint:
    """A ramp's progress in ``directory`` (``state.npz``: the state after the last finished
    block, its trace rows and fingerprint; ``frames.extxyz``: the frames up to it)."""

    def __init__(self, directory: str | os.PathLike, fingerprint: str) -> None:
        self.directory, self.fingerprint = Path(directory), fingerprint
        self.state_path, self.frames_path = self.directory / "state.npz", self.directory / "frames.extxyz"

    def save(self, block: int, step: int, state: dict[str, np.ndarray], rows: list[dict],
             frames: list[Atoms]) -> None:
        """Record that ``block`` finished (frames first: state.npz is what marks it done)."""
        write_extxyz(self.frames_path, frames)
        meta = json.dumps({"fingerprint": self.fingerprint, "block": block, "step": step,
                           "frames": len(frames), "rows": rows})
        with atomic_path(self.state_path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, meta=np.array(meta), **state)

    def load(self) -> tuple[int, int, dict[str, np.ndarray], list[dict], list[Atoms]] | None:
        """(last finished block, step, state, rows, frames), or None without a checkpoint of
        this fingerprint (one of another ramp is ignored and later overwritten)."""
        if not self.state_path.exists():
            return None
        with np.load(self.state_path) as saved:
            meta = json.loads(str(saved["meta"]))
            state = {key: saved[key] for key in saved.files if key != "meta"}
        if meta["fingerprint"] != self.fingerprint:
            log.info("checkpoint %s is of another ramp: starting from the beginning", self.state_path)
            return None
        import ase.io

        frames = ase.io.read(self.frames_path, ":") if meta["frames"] else []
        return meta["block"], meta["step"], state, meta["rows"], frames[:meta["frames"]]

    def remove(self) -> None:
        for path in (self.state_path, self.frames_path):
            path.unlink(missing_ok=True)


def _canonical(value: Any) -> Any:
    """``value`` as JSON-ready data independent of set order and hash seeds."""
    if hasattr(value, "__dataclass_fields__"):
        return {name: _canonical(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, Mapping):
        return sorted([_canonical(k), _canonical(v)] for k, v in value.items())
    if isinstance(value, (set, frozenset)):
        return sorted(_canonical(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def ramp_fingerprint(settings: RampSettings, atoms: Atoms, potential: str | bytes, seed: int) -> str:
    """Hash of what determines a ramp: its settings, the start structure (positions, cell,
    symbols), the potential (its parameters, or the model file's bytes) and the seed."""
    digest = hashlib.sha256(json.dumps(_canonical(settings)).encode())
    digest.update(np.ascontiguousarray(atoms.positions).tobytes())
    digest.update(np.ascontiguousarray(atoms.cell[:]).tobytes())
    digest.update(" ".join(atoms.get_chemical_symbols()).encode())
    digest.update(potential if isinstance(potential, bytes) else potential.encode())
    digest.update(str(seed).encode())
    return digest.hexdigest()[:16]


class _Engine:
    """What a ramp needs from a LAMMPS instance: the NNP's or the empirical potential's."""

    def __init__(self, lmp: object, command: Callable[[str], None], frame: Callable[[], Atoms],
                 spread_ev: Callable[[], float]) -> None:
        self.lmp, self.command, self.frame, self.spread_ev = lmp, command, frame, spread_ev


def _ramp(engine: _Engine, settings: RampSettings, chemistry: Chemistry, n_atoms: int, units: int,
          seed: int, label: str, checkpoint: Checkpoint | None) -> tuple[pd.DataFrame, list[Atoms]]:
    """Run every block of ``settings.ramp`` (after the last one ``checkpoint`` holds); returns
    the trace and the frames."""
    lmp = engine.lmp
    temperature = settings.temperature_k
    lmp.commands_list([
        f"velocity all create {temperature!r} {seed % 900_000_000 + 1:d} dist gaussian mom yes rot no",
        f"timestep {settings.timestep_fs / 1000.0!r}",
    ])
    limit = (None if settings.max_spread_mev_per_atom is None
             else settings.max_spread_mev_per_atom * n_atoms / 1000.0)
    rows, frames, step, started, first = [], [], 0, time.perf_counter(), 0
    saved = checkpoint.load() if checkpoint is not None else None
    if saved is not None:
        done, step, state, rows, frames = saved
        restore_dynamic_state(lmp, state)
        first = done + 1
        log.info("%s: resumed after block %d (%g GPa, step %d) from %s", label, done,
                 settings.ramp[done], step, checkpoint.state_path)
    total = settings.steps_per_pressure * len(settings.ramp)
    for block, pressure in list(enumerate(settings.ramp))[first:]:
        lmp.command("fix ramp all " + integrator("npt", temperature, pressure,
                                                 thermostat_fs=100 * settings.timestep_fs,
                                                 barostat_fs=1000 * settings.timestep_fs))
        engine.command("run 0 post no")
        for _ in range(settings.steps_per_pressure // settings.every):
            engine.command(f"run {settings.every} pre no post no")
            step += settings.every
            frame = engine.frame()
            volume = frame.get_volume()
            spread = engine.spread_ev()
            rows.append({
                "step": step, "time_ps": step * settings.timestep_fs / 1000.0, "block": block,
                "target_gpa": pressure, "pressure_gpa": float(lmp.get_thermo("press")) / GPA_TO_BAR,
                "temperature_k": float(lmp.get_thermo("temp")), "volume_per_fu": volume / units,
                "enthalpy_ev_per_fu": (float(lmp.get_thermo("pe")) + pressure * GPa * volume) / units,
                "cv": coordination_number(frame, chemistry.cations, chemistry.anions, settings.cv_r0),
                "spread_mev_per_atom": 1000.0 * spread / n_atoms,
            })
            if step % settings.frames_every == 0:
                frame.info.update(step=step, target_gpa=pressure)
                frames.append(frame)
            if limit is not None and spread > limit:
                log.warning("%s: stopped at step %d (%g GPa): ensemble spread %.1f meV/atom > %g, "
                            "the model has left its training data", label, step, pressure,
                            rows[-1]["spread_mev_per_atom"], settings.max_spread_mev_per_atom)
                lmp.command("unfix ramp")
                return pd.DataFrame(rows), frames
        lmp.command("unfix ramp")
        if checkpoint is not None:
            checkpoint.save(block, step, dynamic_state(lmp, n_atoms), rows, frames)
        elapsed = time.perf_counter() - started
        log.info("%s: %g GPa done, step %d / %d, CV %.2f, %.2f ns/day", label, pressure, step, total,
                 rows[-1]["cv"], ns_per_day(step, settings.timestep_fs, elapsed))
    return pd.DataFrame(rows), frames


def nnp_ramp(atoms: Atoms, model: str | os.PathLike, settings: RampSettings, chemistry: Chemistry,
             seed: int, checkpoint_dir: str | os.PathLike | None = None) -> tuple[pd.DataFrame, list[Atoms]]:
    """The ramp with an ionnp model inside LAMMPS (PPPM Coulomb at its q, the network through
    ``pair_style ionnp``); resumable through ``checkpoint_dir`` (module docstring)."""
    checkpoint = (None if checkpoint_dir is None else
                  Checkpoint(checkpoint_dir, ramp_fingerprint(settings, atoms, Path(model).read_bytes(), seed)))
    with LammpsNNP(atoms, model) as md:
        engine = _Engine(md.lmp, md.command, md.snapshot, lambda: md.energy_spread)
        return _ramp(engine, settings, chemistry, len(atoms), formula_units(atoms), seed, "NNP ramp",
                     checkpoint)


def empirical_ramp(atoms: Atoms, potential: RigidIonPotential, settings: RampSettings,
                   chemistry: Chemistry, seed: int,
                   checkpoint_dir: str | os.PathLike | None = None) -> tuple[pd.DataFrame, list[Atoms]]:
    """The ramp with the empirical potential (Buckingham + Ewald at the formal charges);
    resumable through ``checkpoint_dir`` (module docstring)."""
    checkpoint = (None if checkpoint_dir is None else
                  Checkpoint(checkpoint_dir, ramp_fingerprint(settings, atoms, json.dumps(_canonical(potential)),
                                                              seed)))
    with LammpsCell(atoms, potential, md_accuracy=1e-5) as cell:
        cell.lmp.command("thermo_style custom step temp pe press vol")  # what a trace row reads
        engine = _Engine(cell.lmp, cell.lmp.command, cell.lammps_frame_atoms, lambda: float("nan"))
        return _ramp(engine, settings, chemistry, len(atoms), formula_units(atoms), seed, "empirical ramp",
                     checkpoint)


def transition_pressures(trace: pd.DataFrame, ground_state: BirchMurnaghan,
                         high_pressure_v0: float) -> dict[str, float | None]:
    """Forward and backward transition pressures (GPa) of a ramp trace, and the hysteresis.

    Judged by volume, against the potential's own equations of state: a block (its second
    half) counts as transformed when its volume per formula unit, divided by the ground
    state's volume at the block's pressure V_gs(P), is below half-way between 1 and the
    high-pressure phase's collapse V0_hp / V0_gs (ZnO's wurtzite → rocksalt: ~0.8, the 4 → 6-fold
    collapse, far larger than thermal expansion or the elastic softening of a sheared cell). The smooth coordination CV grows
    with compression alone and is only drawn. Forward: the highest pressure the cell had been
    held at when it first counts as transformed (a transformation set off at the top of the
    ramp may complete in the next, lower block); backward: after that, the first block that
    has expanded back. None where it did not happen (or the run stopped before) or V_gs(P)
    is outside the ground state's fit.

    Args:
        ground_state: the potential's Birch–Murnaghan fit of the ground state (per formula unit).
        high_pressure_v0: its V0 of the high-pressure phase (Å³ per formula unit).
    """
    threshold = 0.5 * (1.0 + high_pressure_v0 / ground_state.v0)

    def ratio(block: pd.DataFrame) -> float:
        try:
            reference = ground_state.volume(block.target_gpa.iloc[0] * GPa)
        except ValueError:
            return float("nan")
        return float(block.volume_per_fu.iloc[len(block) // 2:].mean() / reference)

    blocks = trace.groupby("block").apply(
        lambda b: pd.Series({"target_gpa": b.target_gpa.iloc[0], "ratio": ratio(b)}), include_groups=False)
    transformed = np.flatnonzero(blocks.ratio.to_numpy() < threshold)
    forward = backward = None
    if len(transformed):
        first = int(transformed[0])
        forward = float(blocks.target_gpa.iloc[: first + 1].max())
        after = blocks.iloc[first + 1:]
        back = after[after.ratio > threshold]
        backward = float(back.target_gpa.iloc[0]) if len(back) else None
    return {"forward_gpa": forward, "backward_gpa": backward,
            "hysteresis_gpa": None if forward is None or backward is None else forward - backward,
            "volume_ratio_threshold": threshold}


def transition_table(traces: Mapping[str, pd.DataFrame],
                     references: Mapping[str, tuple[BirchMurnaghan, float]],
                     dft_gpa: float | None) -> pd.DataFrame:
    """One row per potential: forward and backward transition pressure, hysteresis (GPa), the
    DFT EOS transition pressure and the forward overpressure above it.

    Args:
        references: potential name → (its ground-state fit, its high-pressure V0), see
            :func:`transition_pressures`.
    """
    rows = []
    for name, trace in traces.items():
        found = transition_pressures(trace, *references[name])
        over = None if found["forward_gpa"] is None or dft_gpa is None else found["forward_gpa"] - dft_gpa
        rows.append({"potential": name, **found, "dft_eos_gpa": dft_gpa, "overpressure_gpa": over,
                     "steps_run": int(trace.step.iloc[-1]) if len(trace) else 0})
    return pd.DataFrame(rows)


__all__ = ["Checkpoint", "RampSettings", "empirical_ramp", "nnp_ramp", "ramp_fingerprint", "transition_pressures",
           "transition_table"]
