"""Molecular dynamics of an ionnp model inside LAMMPS, for large cells.

    result = run_md(atoms, "models/finetune_q0.8.pt", steps=20_000, timestep_fs=1.0,
                    ensemble="npt", temperature_k=300.0, pressure_gpa=5.0, thermo_every=100)
    result.thermo      # DataFrame: step, time_ps, temperature_k, potential_ev, kinetic_ev,
                       # total_ev, pressure_gpa, volume_a3
    result.frames      # Atoms every ``frames_every`` steps, with energy, forces and stress

The energy is that of :class:`~ionnp.nnp.calculator.IonnpCalculator`, E = E_NN + q² E_C(1):

* the Coulomb term is LAMMPS's own: charges q z_s/z_ref on the atoms (the model's
  ``unit_charges``), ``pair_style coul/long`` and ``kspace_style pppm`` or ``ewald``
  (:class:`CoulombSettings`); none when q = 0;
* the short-range ensemble mean E_NN = Σ_i ε_NN(i) comes, by default, from ``pair_style ionnp``
  (:class:`PairStyleTerm`: the compiled plugin of ``lammps-plugin/`` running the model exported
  with :func:`ionnp.deploy.export.export_model`, overlaid on ``coul/long``), or, with
  ``route="fix_external"``, from ``fix external`` in ``pf/callback`` mode (:class:`ShortRangeFix`:
  every step LAMMPS hands the positions to a Python callback, which returns the model's forces,
  energy and virial W = −V σ_NN). The two routes give the same numbers; the pair style needs no
  Python per step (benchmarks/lammps_routes.py).

LAMMPS integrates (velocity Verlet; Nosé–Hoover chains and the MTK barostat for nvt/npt) and
sums the Coulomb term with PPPM, O(N log N). Units: LAMMPS ``metal`` inside (Å, eV, ps, bar),
the tables and frames in eV, Å, ps, GPa, K and ASE's stress sign. Temperatures are LAMMPS's:
3N − 3 degrees of freedom (ASE's ``get_temperature`` counts 3N). Frames come back in the
orientation of the input structure (LAMMPS works in a rotated, lower-triangular frame).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from ase import Atoms
from ase.calculators.lammps import Prism
from ase.calculators.singlepoint import SinglePointCalculator

from ionnp.deploy.export import export_model
from ionnp.deploy.lammps_input import input_lines
from ionnp.lammps.box import (
    GPA_TO_BAR,
    LMP_STYLE_GLOBAL,
    LMP_TYPE_VECTOR,
    VELOCITY_TO_LAMMPS,
    box,
    create_box,
    per_atom,
    virial_stress,
)
from ionnp.lammps.integrators import Ensemble, integrator
from ionnp.lammps.runtime import new_lammps
from ionnp.nnp.potential import NNPotential
from ionnp.potential import RigidIonPotential

#: Thermo keywords read after every chunk of steps, and their table columns.
_THERMO = {
    "step": "step", "time": "time_ps", "temp": "temperature_k", "pe": "potential_ev",
    "ke": "kinetic_ev", "etotal": "total_ev", "press": "pressure_gpa", "vol": "volume_a3",
}
_FIX = "nnp"
#: The compute of the pair style's ensemble energy spread (c_nnp_spread[1], eV).
_SPREAD = "nnp_spread"

Barostat = Literal["iso", "aniso", "tri"]
#: How the short-range term enters LAMMPS: the compiled pair style or Python's fix external.
Route = Literal["pair_style", "fix_external"]


@dataclass(frozen=True)
class CoulombSettings:
    """How LAMMPS sums the Coulomb term: real-space ``pair_style coul/long`` plus k-space.

    Attributes:
        kspace: ``"pppm"`` (particle–particle particle-mesh, O(N log N): large cells) or
            ``"ewald"``.
        accuracy: relative RMS force error of the k-space sum (LAMMPS's kspace accuracy).
        real_cutoff: cut-off of the real-space sum (Å).
        alpha: Ewald splitting parameter (Å⁻¹); None lets LAMMPS pick it from ``accuracy``
            and ``real_cutoff``.
        erfc_table: tabulate erfc in the real-space sum (LAMMPS's default, faster); False
            evaluates its polynomial for every pair.
    """

    kspace: Literal["pppm", "ewald"] = "pppm"
    accuracy: float = 1e-5
    real_cutoff: float = 8.0
    alpha: float | None = None
    erfc_table: bool = True

    def __post_init__(self) -> None:
        if self.kspace not in ("pppm", "ewald"):
            raise ValueError(f"kspace must be 'pppm' or 'ewald', not {self.kspace!r}")

    @property
    def kspace_arguments(self) -> str:
        """The arguments of ``kspace_style``."""
        return f"{self.kspace} {self.accuracy!r}"

    def modify_commands(self, pair: str = "") -> list[str]:
        """``pair_modify`` and ``kspace_modify`` lines of the non-default settings, after the
        styles; ``pair``: the sub-style's keyword under ``pair_style hybrid/overlay``."""
        commands = [] if self.erfc_table else [f"pair_modify {pair + ' ' if pair else ''}table 0"]
        if self.alpha is not None:
            commands.append(f"kspace_modify gewald {self.alpha!r}")
        return commands

    def lammps_commands(self) -> list[str]:
        """Pair and kspace commands (charges are set separately)."""
        return [f"pair_style coul/long {self.real_cutoff!r}", "pair_coeff * *",
                f"kspace_style {self.kspace_arguments}", *self.modify_commands()]


#: Defaults for dynamics: PPPM at 1e-5 relative force accuracy, 8 Å real-space cut-off.
MD_COULOMB = CoulombSettings()
#: The precise Ewald settings of the LAMMPS labels (see :class:`RigidIonPotential`): ~1e-9
#: eV/atom against a converged Ewald sum, but a cost that grows as N² — small cells only.
PRECISE_COULOMB = CoulombSettings(
    kspace="ewald", accuracy=RigidIonPotential.kspace_accuracy,
    real_cutoff=RigidIonPotential.ewald_real_cutoff, alpha=RigidIonPotential.ewald_alpha,
    erfc_table=False,
)


@dataclass(frozen=True)
class MDResult:
    """A LAMMPS run.

    Attributes:
        thermo: one row every ``thermo_every`` steps (the first and the last step included):
            step, time_ps, temperature_k, potential_ev, kinetic_ev, total_ev, pressure_gpa
            (kinetic part included), volume_a3, energy_spread_ev (the ensemble's energy
            spread at that step).
        frames: snapshots (:meth:`LammpsNNP.snapshot`) every ``frames_every`` steps, the
            first included; empty when none were asked for.
        stopped_at: the step at which the run stopped because the energy spread passed
            ``max_energy_spread_ev`` (the model left its data), else None.
    """

    thermo: pd.DataFrame
    frames: list[Atoms]
    stopped_at: int | None = None


class PairStyleTerm:
    """The short-range term of an ionnp model as ``pair_style ionnp`` (the plugin), overlaid on
    the Coulomb styles at q.

    Args:
        lmp: a LAMMPS instance whose box exists (``units metal``).
        potential: the model; q = ``potential.charge``. It is exported (in its own dtype) to a
            temporary deployed file, removed by :meth:`close`.
        type_elements: element of each atom type, in type order.

    ``c_nnp_spread[1]`` is the ensemble's energy spread (eV), evaluated on thermo steps.
    """

    thermo_keywords = (f"c_{_SPREAD}[1]",)

    def __init__(self, lmp: object, potential: NNPotential, type_elements: Sequence[str]) -> None:
        self.lmp, self.potential = lmp, potential
        self.type_elements = list(type_elements)
        self.directory = tempfile.mkdtemp(prefix="ionnp-pair-")
        self.model_file = os.path.join(self.directory, "model.pt")
        export_model(potential, self.model_file)

    def setup(self, coulomb: CoulombSettings | None) -> None:
        """The lines of :func:`ionnp.deploy.lammps_input.input_lines` (plugin, pair styles,
        k-space, charges; ``coulomb`` is None exactly when q = 0) and the spread compute."""
        settings = coulomb or CoulombSettings()
        commands = input_lines(self.model_file, types=self.type_elements,
                               coulomb_cutoff=settings.real_cutoff, kspace=settings.kspace_arguments,
                               modify=settings.modify_commands(pair="pair coul/long"))
        self.lmp.commands_list(commands + [f"compute {_SPREAD} all pair ionnp"])

    @property
    def energy_spread(self) -> float:
        """The ensemble's energy spread (eV) at the last thermo step."""
        return float(self.lmp.numpy.extract_compute(_SPREAD, LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR)[0])

    def command(self, command: str) -> None:
        self.lmp.command(command)

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class ShortRangeFix:
    """The short-range term of an ionnp model in a LAMMPS instance: ``fix external`` in
    ``pf/callback`` mode, the Coulomb term at q by LAMMPS itself.

    Args:
        lmp: a LAMMPS instance whose box exists (``units metal``).
        potential: the model; q = ``potential.charge``.
        type_elements: element of each atom type, in type order (type k + 1 is
            ``type_elements[k]``); read at every force call, so atoms may be added later.

    The fix is named ``nnp``; its global scalar is the network's energy (eV) and its global
    vector ``f_nnp[1]`` the ensemble's energy spread (eV) at the last force call, for a
    ``thermo_style`` or a ``fix halt``.
    """

    thermo_keywords: tuple[str, ...] = ()

    def __init__(self, lmp: object, potential: NNPotential, type_elements: Sequence[str]) -> None:
        self.lmp, self.potential = lmp, potential
        self.type_elements = np.array(type_elements)
        self.energy_spread = 0.0  # eV, the ensemble's at the last force call
        self._error: BaseException | None = None

    def add_coulomb(self, settings: CoulombSettings) -> None:
        """The Coulomb pair and kspace styles (charges: :meth:`set_charges`)."""
        self.lmp.commands_list(settings.lammps_commands())

    def set_charges(self) -> None:
        """Charges q z_s / z_ref on every atom, by type (0 without a Coulomb term)."""
        unit = self.potential.unit_charges or {}
        for k, element in enumerate(self.type_elements, start=1):
            charge = self.potential.charge * unit.get(str(element), 0.0)
            self.lmp.command(f"set type {k} charge {charge!r}")

    def setup(self, coulomb: CoulombSettings | None) -> None:
        """Coulomb styles and charges (None: no Coulomb term), then the fix."""
        if coulomb is not None:
            self.add_coulomb(coulomb)
            self.set_charges()
        self.install()

    def install(self) -> None:
        """The fix, its energy and virial contributions, and the callback."""
        self.lmp.commands_list([
            f"fix {_FIX} all external pf/callback 1 1",
            f"fix_modify {_FIX} energy yes virial yes",
        ])
        self.lmp.fix_external_set_vector_length(_FIX, 1)
        self.lmp.set_fix_external_callback(_FIX, self._callback)

    def _callback(self, caller: object, step: int, nlocal: int, tag: np.ndarray,
                  x: np.ndarray, f: np.ndarray) -> None:
        """Short-range forces into ``f`` (nlocal, 3), energy and virial into the fix.

        ``tag`` (nlocal,) are the atom IDs of the local atoms, ``x`` (nlocal, 3) their
        positions (Å, LAMMPS frame, possibly slightly outside the box). An exception cannot
        cross LAMMPS: it is kept, the forces set to zero, and :meth:`command` raises it.
        """
        try:
            order = np.argsort(tag)
            types = np.asarray(self.lmp.numpy.extract_atom("type")[:nlocal])[order]
            atoms = Atoms(self.type_elements[types - 1].tolist(), positions=x[order],
                          cell=box(self.lmp)[1], pbc=True)
            mean, std = self.potential.short_range(self.potential.graph(atoms), spread=False)
            self.energy_spread = float(std.energy[0])
            f[order] = mean.forces.detach().double().numpy()
            sigma = mean.stress[0].detach().double().numpy()  # Voigt xx yy zz yz xz xy
            virial = -atoms.get_volume() * sigma[[0, 1, 2, 5, 4, 3]]  # LAMMPS: xx yy zz xy xz yz
            self.lmp.fix_external_set_energy_global(_FIX, float(mean.energy[0]))
            self.lmp.fix_external_set_virial_global(_FIX, virial.tolist())
            self.lmp.fix_external_set_vector(_FIX, 1, self.energy_spread)
        except BaseException as error:  # noqa: BLE001 - re-raised by command
            f[:] = 0.0
            self._error = self._error or error

    def command(self, command: str) -> None:
        """Run a LAMMPS command; raise the first error of the callback during it."""
        self.lmp.command(command)
        if self._error is not None:
            error, self._error = self._error, None
            raise RuntimeError("the NNP callback failed inside LAMMPS") from error


class LammpsNNP:
    """A structure in LAMMPS with an ionnp model: Coulomb by LAMMPS, the short-range term
    by ``pair_style ionnp`` or a ``fix external`` callback. The configuration is evaluated on
    creation, so :meth:`snapshot` is valid at once.

    Args:
        atoms: the structure (3D-periodic, elements among the model's); its velocities are
            carried over.
        model: a model file (:meth:`NNPotential.save`) or a potential; q = ``model.charge``.
        coulomb: how LAMMPS sums the Coulomb term (unused when q = 0).
        log_file: LAMMPS log file, or None for no log.
        route: ``"pair_style"`` (the compiled plugin, :class:`PairStyleTerm`) or
            ``"fix_external"`` (:class:`ShortRangeFix`).

    Atom i of ``atoms`` is LAMMPS atom ID i + 1; type k + 1 is ``model.elements[k]``.
    """

    def __init__(
        self,
        atoms: Atoms,
        model: str | os.PathLike | NNPotential,
        *,
        coulomb: CoulombSettings = MD_COULOMB,
        log_file: str | os.PathLike | None = None,
        route: Route = "pair_style",
    ) -> None:
        if route not in ("pair_style", "fix_external"):
            raise ValueError(f"route must be 'pair_style' or 'fix_external', not {route!r}")
        self.potential = model if isinstance(model, NNPotential) else NNPotential.load(model)
        self.potential.eval()
        unknown = sorted(set(atoms.get_chemical_symbols()) - set(self.potential.elements))
        if unknown:
            raise ValueError(f"structure {atoms.get_chemical_formula()} holds elements "
                             f"{unknown} that the model does not know")
        if not atoms.pbc.all():
            raise ValueError(f"{atoms.get_chemical_formula()}: LAMMPS MD needs a 3D-periodic cell")
        self.symbols = atoms.get_chemical_symbols()
        self.prism = Prism(atoms.cell.array, pbc=True)
        self.lmp = new_lammps(log_file)
        self.term: PairStyleTerm | ShortRangeFix | None = None
        try:
            term = PairStyleTerm if route == "pair_style" else ShortRangeFix
            self.term = term(self.lmp, self.potential, self.potential.elements)
            create_box(self.lmp, self.prism, self.symbols, self.potential.elements,
                       atoms.positions, atoms.get_velocities())
            self.term.setup(coulomb if self.potential.charge != 0.0 else None)
            self.lmp.commands_list([
                "neighbor 2.0 bin",
                "neigh_modify every 1 delay 0 check yes",
                "compute virial all pressure NULL virial",
                f"thermo_style custom {' '.join(_THERMO)} c_virial[*] {' '.join(self.term.thermo_keywords)}",
                "thermo_modify norm no",
                "thermo 0",  # first and last step of every run: each chunk of run()
            ])
            self.command("run 0 post no")
        except BaseException:
            self.close()
            raise

    @property
    def energy_spread(self) -> float:
        """The ensemble's energy spread (eV) at the last step a row or frame was read."""
        return self.term.energy_spread

    def command(self, command: str) -> None:
        """Run a LAMMPS command (a callback's error, on the fix external route, is raised)."""
        self.term.command(command)

    # -- reading the state back -------------------------------------------------------------

    def _by_id(self, name: str) -> np.ndarray:
        """Per-atom property ``name`` (N, 3), rows ordered by atom ID, in the LAMMPS frame."""
        return per_atom(self.lmp, name, len(self.symbols))

    def snapshot(self) -> Atoms:
        """The structure after the last step, rotated back into the input's orientation.

        Positions (Å, relative to the box origin; LAMMPS wraps them into the box whenever it
        rebuilds its neighbour lists), cell, velocities (ASE units), and a
        :class:`SinglePointCalculator` with the potential energy (eV), forces (eV/Å, (N, 3))
        and stress of the potential (eV/Å³, Voigt (6,), ASE sign, no kinetic part).
        """
        lmp = self.lmp
        origin, cell = box(lmp)
        to_ase = self.prism.vector_to_ase
        atoms = Atoms(self.symbols, positions=to_ase(self._by_id("x") - origin),
                      cell=to_ase(cell), pbc=True)
        atoms.set_velocities(to_ase(self._by_id("v")) / VELOCITY_TO_LAMMPS)
        atoms.calc = SinglePointCalculator(
            atoms, energy=float(lmp.get_thermo("pe")), forces=to_ase(self._by_id("f")),
            stress=virial_stress(lmp, self.prism),
        )
        return atoms

    def _thermo_row(self) -> dict[str, float]:
        row = {column: float(self.lmp.get_thermo(keyword)) for keyword, column in _THERMO.items()}
        row["step"] = int(row["step"])
        row["pressure_gpa"] /= GPA_TO_BAR
        row["energy_spread_ev"] = self.energy_spread
        return row

    # -- dynamics ---------------------------------------------------------------------------

    def create_velocities(self, temperature_k: float, seed: int) -> None:
        """Gaussian velocities at exactly ``temperature_k`` (K), no net momentum or rotation;
        ``seed`` a positive integer."""
        self.lmp.command(f"velocity all create {temperature_k!r} {seed:d} dist gaussian "
                         "mom yes rot no")

    def run(
        self,
        steps: int,
        timestep_fs: float = 1.0,
        *,
        ensemble: Ensemble = "nve",
        temperature_k: float = 300.0,
        pressure_gpa: float = 0.0,
        thermostat_fs: float = 100.0,
        barostat_fs: float = 1000.0,
        barostat: Barostat = "tri",
        thermo_every: int = 10,
        frames_every: int | None = None,
        max_energy_spread_ev: float | None = None,
    ) -> MDResult:
        """Run ``steps`` steps of ``timestep_fs`` (fs) from the current state.

        Args:
            ensemble: ``"nve"`` (velocity Verlet), ``"nvt"`` (Nosé–Hoover at
                ``temperature_k``) or ``"npt"`` (Nosé–Hoover and MTK barostat at
                ``temperature_k`` and ``pressure_gpa``).
            thermostat_fs, barostat_fs: damping times of thermostat and barostat (fs);
                LAMMPS advises ~100 and ~1000 steps.
            barostat: which cell degrees of freedom the barostat moves: ``"iso"`` (volume),
                ``"aniso"`` (the three lengths) or ``"tri"`` (all six; shape changes).
            thermo_every: steps between rows of the thermo table.
            frames_every: steps between snapshots; None for none.
            max_energy_spread_ev: stop cleanly at the first thermo step whose ensemble energy
                spread (eV) exceeds this; the result says where (``stopped_at``).
        """
        fix = integrator(ensemble, temperature_k, pressure_gpa, thermostat_fs=thermostat_fs,
                         barostat_fs=barostat_fs, barostat=barostat)
        if steps < 0 or thermo_every < 1 or (frames_every is not None and frames_every < 1):
            raise ValueError(f"need steps ≥ 0 and intervals ≥ 1, not steps={steps}, "
                             f"thermo_every={thermo_every}, frames_every={frames_every}")
        self.lmp.commands_list([f"timestep {timestep_fs / 1000.0!r}", f"fix md all {fix}"])
        try:
            return self._run_in_chunks(steps, thermo_every, frames_every, max_energy_spread_ev)
        finally:
            self.lmp.command("unfix md")

    def _run_in_chunks(self, steps: int, thermo_every: int, frames_every: int | None,
                       max_energy_spread_ev: float | None) -> MDResult:
        """Run to every step where a row or a frame is due and read them back there.

        The first ``run 0`` sets up the new fix (one NNP call); the chunks then continue
        with ``pre no``, which neither recomputes forces nor changes the trajectory.
        """
        self.command("run 0 post no")
        stops = set(range(thermo_every, steps, thermo_every)) | {steps}
        if frames_every is not None:
            stops |= set(range(frames_every, steps + 1, frames_every))
        rows, frames = [self._thermo_row()], []
        if frames_every is not None:
            frames.append(self.snapshot())
        done = 0
        for stop in sorted(stops - {0}):
            self.command(f"run {stop - done} pre no post no")
            done = stop
            if stop % thermo_every == 0 or stop == steps:
                rows.append(self._thermo_row())
            if frames_every is not None and stop % frames_every == 0:
                frames.append(self.snapshot())
            if max_energy_spread_ev is not None and self.energy_spread > max_energy_spread_ev:
                return MDResult(thermo=pd.DataFrame(rows), frames=frames, stopped_at=stop)
        return MDResult(thermo=pd.DataFrame(rows), frames=frames)

    # -- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        """Free the LAMMPS instance (and the pair style's exported model)."""
        self.lmp.close()
        if isinstance(self.term, PairStyleTerm):
            self.term.close()

    def __enter__(self) -> LammpsNNP:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_md(
    atoms: Atoms,
    model: str | os.PathLike | NNPotential,
    steps: int,
    timestep_fs: float = 1.0,
    *,
    ensemble: Ensemble = "nve",
    temperature_k: float = 300.0,
    pressure_gpa: float = 0.0,
    thermostat_fs: float = 100.0,
    barostat_fs: float = 1000.0,
    barostat: Barostat = "tri",
    thermo_every: int = 10,
    frames_every: int | None = None,
    seed: int = 1,
    coulomb: CoulombSettings = MD_COULOMB,
    log_file: str | os.PathLike | None = None,
    max_energy_spread_ev: float | None = None,
    route: Route = "pair_style",
) -> MDResult:
    """MD of ``atoms`` with an ionnp model inside LAMMPS (see :meth:`LammpsNNP.run`).

    Starts from the velocities of ``atoms``, or, when it has none, from Gaussian velocities
    at ``temperature_k`` (K) drawn with ``seed`` (a positive integer). ``atoms`` itself is
    not changed; the last state is ``result.frames[-1]`` when ``frames_every`` divides
    ``steps``.
    """
    with LammpsNNP(atoms, model, coulomb=coulomb, log_file=log_file, route=route) as md:
        if not atoms.get_momenta().any():
            md.create_velocities(temperature_k, seed)
        return md.run(steps, timestep_fs, ensemble=ensemble, temperature_k=temperature_k,
                      pressure_gpa=pressure_gpa, thermostat_fs=thermostat_fs,
                      barostat_fs=barostat_fs, barostat=barostat, thermo_every=thermo_every,
                      frames_every=frames_every, max_energy_spread_ev=max_energy_spread_ev)
