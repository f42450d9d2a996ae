"""DFT relabelling with Quantum ESPRESSO's pw.x through ASE, resumable and honest about failures.

Every structure gets its own directory ``<workdir>/<structure id>/``; a finished calculation
leaves ``result.json`` there (written atomically) with its status, the labels, the settings
fingerprint, the code version and the wall time. A rerun of a shard after a crash, a
``kill -9`` or a walltime kill reuses every finished result whose fingerprint matches and
computes only the rest (a result is reused only for the same structure, k-mesh and settings:
the pw.x input it came from is compared with the structure asked for). Statuses:

- ``converged``: energy (eV, the ``!`` line: Mermin free energy with smearing, consistent
  with the forces), forces (eV/Å) and stress (eV/Å³, ASE sign) are kept;
- ``not_converged``: the SCF did not converge in any of the attempts (each retry is safer:
  smaller ``mixing_beta``, more steps, then ``local-TF`` mixing); final, not retried on rerun;
- ``crashed``: pw.x failed otherwise (the reason is the tail of its output); retried on the
  next run of the shard, final once it has crashed in ``max_attempts`` runs;
- ``killed``: pw.x was killed by a signal (e.g. the walltime); always retried.

A shard job with structures still to retry fails after recording them (:func:`unfinished`),
so Snakemake's ``retries`` or the next call runs it again, and only those structures compute.

k-points: ``kspacing`` in config is in Å⁻¹ *with* the 2π (n_i = ⌈|b_i| / kspacing⌉,
|b_i| = 2π/d_i), converted here once into an explicit Monkhorst–Pack grid; ASE's own
``kspacing`` keyword omits the 2π and is not used. ``tprnfor`` and ``tstress`` are always on.

Dispersion (``dispersion``, config ``dft.dispersion``): ``none`` (plain PBE) or ``dft-d3``,
Grimme's DFT-D3 with zero damping (S. Grimme et al., J. Chem. Phys. 132, 154104 (2010)), the
two-body C6 and C8 terms only: ``vdw_corr='dft-d3'``, ``dftd3_version=3``,
``dftd3_threebody=.false.`` in ``&system``. The three-body (Axilrod–Teller–Muto) term is off,
as in D3 as published and in Grimme's ``dftd3`` program by default; QE's own default would add
it, so it is set explicitly. QE takes the damping parameters of the pseudopotentials'
functional (PBE: s6 = 1, s8 = 0.722, rs6 = 1.217, rs8 = 1) and real-space cut-offs of √9000 bohr
(pairs) and 40 bohr (coordination numbers). D3 is added to the energy, forces and stress after
the SCF and does not change the electrons. ``none`` leaves no trace: the same pw.x input,
fingerprint and status record as before the option existed, so earlier results stay valid.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import re
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.espresso import Espresso, EspressoProfile
from ase.calculators.singlepoint import SinglePointCalculator

from ionnp.io import atomic_path

log = logging.getLogger(__name__)

#: ``&system`` keywords of each ``dispersion`` choice (none: no keyword at all).
DISPERSION: dict[str, dict[str, Any]] = {
    "none": {},
    "dft-d3": {"vdw_corr": "dft-d3", "dftd3_version": 3, "dftd3_threebody": False},
}


@dataclass(frozen=True)
class DftSettings:
    """pw.x settings (QE units where QE's: Ry for cut-offs and smearing).

    Attributes:
        pseudopotentials: UPF file name per element, in ``pseudo_dir``.
        pseudo_dir: folder of the UPF files.
        ecutwfc, ecutrho: plane-wave cut-offs (Ry).
        kspacing: largest k-point spacing (Å⁻¹, 2π convention).
        smearing, degauss: smearing kind and width (Ry).
        conv_thr_per_atom: SCF threshold per atom (Ry).
        mixing_beta, electron_maxstep: first attempt's mixing and step limit.
        max_attempts: SCF attempts before ``not_converged``.
        dispersion: ``none`` or ``dft-d3`` (D3 zero damping, two-body only: see the module's
            docstring and :data:`DISPERSION`).
    """

    pseudopotentials: Mapping[str, str]
    pseudo_dir: str
    ecutwfc: float = 35.0
    ecutrho: float = 280.0
    kspacing: float = 0.8
    smearing: str = "mv"
    degauss: float = 0.01
    conv_thr_per_atom: float = 1e-9
    mixing_beta: float = 0.4
    electron_maxstep: int = 100
    max_attempts: int = 3
    dispersion: str = "none"

    def __post_init__(self):
        if self.dispersion not in DISPERSION:
            raise ValueError(f"unknown dft dispersion {self.dispersion!r}: "
                             f"one of {', '.join(DISPERSION)}")

    @classmethod
    def from_config(cls, section: Mapping[str, Any], pseudo_files: Sequence[str | os.PathLike]) -> DftSettings:
        """From the ``dft`` config section and the UPF files (one per element, named
        ``<element>.UPF``, all in one folder)."""
        keys = ("ecutwfc", "ecutrho", "kspacing", "smearing", "degauss", "conv_thr_per_atom",
                "mixing_beta", "electron_maxstep", "max_attempts", "dispersion")
        return cls(pseudopotentials={Path(p).stem: Path(p).name for p in pseudo_files},
                   pseudo_dir=str(Path(pseudo_files[0]).resolve().parent),
                   **{key: section[key] for key in keys})

    def record(self) -> dict[str, Any]:
        """The settings as a dict, ``dispersion`` only when set (``none`` as before the option)."""
        settings = asdict(self)
        if self.dispersion == "none":
            del settings["dispersion"]
        return settings

    def fingerprint(self) -> str:
        """Hash of everything that changes the result (the pseudopotential files' content too);
        ``dispersion: none`` hashes as before the option, so earlier results are reused."""
        payload = {k: v for k, v in self.record().items() if k != "pseudo_dir"}
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode())
        for name in sorted(self.pseudopotentials.values()):
            digest.update(Path(self.pseudo_dir, name).read_bytes())
        return digest.hexdigest()[:16]


def kpoint_grid(atoms: Atoms, kspacing: float) -> list[int]:
    """Monkhorst–Pack grid with spacing at most ``kspacing`` (Å⁻¹, 2π included)."""
    lengths = 2 * math.pi * np.linalg.norm(atoms.cell.reciprocal(), axis=1)
    return [max(1, math.ceil(length / kspacing - 1e-9)) for length in lengths]


def attempt_parameters(settings: DftSettings, attempt: int) -> dict[str, Any]:
    """``&electrons`` settings of attempt 0, 1, ...: each safer than the one before."""
    beta = settings.mixing_beta / (2**attempt)
    parameters = {"mixing_beta": beta, "electron_maxstep": settings.electron_maxstep * (attempt + 1)}
    if attempt >= 2:
        parameters["mixing_mode"] = "local-TF"
    return parameters


#: The command each ``dft.launcher`` starts pw.x or ph.x with (ASE appends ``-in espresso.pwi``):
#: ``{executable}``, ``{tasks}`` MPI ranks, ``{pools}`` k-point pools (:func:`k_pools`).
LAUNCH_TEMPLATES = {
    "serial": "{executable}",
    "mpirun": "mpirun -np {tasks} --bind-to none {executable} -nk {pools}",
    "srun": "srun --ntasks={tasks} {executable} -nk {pools}",
}


def irreducible_kpoints(atoms: Atoms, kpoints: Sequence[int]) -> int:
    """k-points of an unshifted Monkhorst–Pack mesh left after the crystal's symmetry and time
    reversal (spglib, as pw.x reduces them; at least 1)."""
    import spglib

    mapping, _ = spglib.get_ir_reciprocal_mesh(
        [int(k) for k in kpoints], (atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers),
        is_shift=[0, 0, 0])
    return max(1, len(np.unique(mapping)))


def k_pools(tasks: int, n_kpoints: int) -> int:
    """k-point pools (``-nk``) for ``tasks`` ranks: the largest divisor of ``tasks`` that leaves
    every pool at least one of ``n_kpoints`` k-points. A pool without one idles (QE 6.7 runs,
    measured: 2 pools on a Γ-only cell converge with one pool idle); its ranks are better spent
    on the plane waves, which the remaining ranks of each pool share."""
    return max(d for d in range(1, tasks + 1) if tasks % d == 0 and d <= n_kpoints)


@dataclass(frozen=True)
class Launch:
    """How a DFT job starts pw.x and ph.x.

    Attributes:
        template: the command, with ``{executable}`` (pw.x, ph.x), ``{tasks}`` and ``{pools}``
            placeholders (:data:`LAUNCH_TEMPLATES`, or a site's own, e.g.
            ``"mpiexec -n {tasks} {executable} -nk {pools}"``).
        tasks: MPI ranks.
    """

    template: str
    tasks: int = 1

    @classmethod
    def from_config(cls, section: Mapping[str, Any], tasks: int) -> Launch:
        """``dft.command`` if set, else the template of ``dft.launcher`` (``auto``: srun inside a
        SLURM job, mpirun for several tasks, else serial)."""
        if os.geteuid() == 0:  # OpenMPI's mpirun refuses to start as root without these
            os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
            os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        if section.get("command"):
            return cls(section["command"], tasks)
        launcher = section["launcher"]
        if launcher == "auto":
            launcher = "srun" if "SLURM_JOB_ID" in os.environ else ("mpirun" if tasks > 1 else "serial")
        if launcher == "mpirun" and tasks == 1:
            launcher = "serial"
        if launcher not in LAUNCH_TEMPLATES:
            raise ValueError(f"unknown dft launcher {launcher!r}: {', '.join(LAUNCH_TEMPLATES)}")
        return cls(LAUNCH_TEMPLATES[launcher], tasks)

    def command(self, executable: str = "pw.x", atoms: Atoms | None = None,
                kpoints: Sequence[int] | None = None) -> str:
        """The command for one run of ``executable`` on ``atoms`` with the ``kpoints`` mesh
        (pools from :func:`k_pools`; one pool without a structure)."""
        n_kpoints = 1 if atoms is None or kpoints is None else irreducible_kpoints(atoms, kpoints)
        return self.template.format(executable=executable, tasks=self.tasks,
                                    pools=k_pools(self.tasks, n_kpoints))


def environment_for(command: str) -> dict[str, str]:
    """The environment a Quantum ESPRESSO program starts in. Inside a SLURM job step, an
    OpenMPI-built program that srun did not start itself (serial, or under mpirun) takes the
    step's ``SLURM_*`` variables for a direct launch by srun and stops when OpenMPI lacks SLURM's
    PMI (Debian's does); without them it runs as a singleton, and mpirun starts its ranks on the
    job's node. A command that starts with srun keeps them."""
    if command.split()[0] == "srun":
        return dict(os.environ)
    return {key: value for key, value in os.environ.items() if not key.startswith("SLURM_")}


@contextlib.contextmanager
def started_as(command: str) -> Iterator[None]:
    """``os.environ`` set to :func:`environment_for` ``command`` while ASE starts it (ASE's
    profiles pass ``os.environ`` to the program), restored after."""
    saved, started = dict(os.environ), environment_for(command)
    os.environ.clear()
    os.environ.update(started)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def command_for(launch: Launch | str, executable: str, atoms: Atoms, kpoints: Sequence[int]) -> str:
    """A :class:`Launch`'s command for this run; a plain string is a fixed pw.x command (its
    ``pw.x`` replaced by ``executable``)."""
    if isinstance(launch, Launch):
        return launch.command(executable, atoms, kpoints)
    return launch.replace("pw.x", executable)


@dataclass
class StructureResult:
    """What happened to one structure (JSON-serialisable)."""

    structure_id: str
    status: str
    reason: str = ""
    attempts: int = 0
    wall_time_s: float = 0.0
    fingerprint: str = ""
    code_version: str = ""
    kpoints: list[int] = field(default_factory=list)
    runs: int = 1
    energy: float | None = None
    forces: list[list[float]] | None = None
    stress: list[float] | None = None

    def is_final(self, max_attempts: int) -> bool:
        """True when a rerun would not try this structure again."""
        return self.status in ("converged", "not_converged") or (
            self.status == "crashed" and self.runs >= max_attempts)


def _code_version(output: str) -> str:
    match = re.search(r"Program PWSCF (v\.\S+)", output)
    return f"PWSCF {match.group(1)}" if match else "PWSCF (version not found)"


def _run_attempt(atoms: Atoms, settings: DftSettings, directory: Path, launch: Launch | str,
                 attempt: int, kpoints: list[int]) -> tuple[str, str, str]:
    """One pw.x run. Returns (status, reason, pw.x output)."""
    input_data = {
        "control": {"calculation": "scf", "tprnfor": True, "tstress": True, "disk_io": "none"},
        "system": {"ecutwfc": settings.ecutwfc, "ecutrho": settings.ecutrho,
                   "occupations": "smearing", "smearing": settings.smearing,
                   "degauss": settings.degauss, **DISPERSION[settings.dispersion]},
        "electrons": {"conv_thr": settings.conv_thr_per_atom * len(atoms),
                      **attempt_parameters(settings, attempt)},
    }
    command = command_for(launch, "pw.x", atoms, kpoints)
    calc = Espresso(profile=EspressoProfile(command=command, pseudo_dir=settings.pseudo_dir),
                    directory=str(directory), input_data=input_data,
                    pseudopotentials=dict(settings.pseudopotentials), kpts=kpoints)
    work = atoms.copy()
    work.calc = calc
    try:
        with started_as(command):
            work.get_potential_energy()
        output = (directory / "espresso.pwo").read_text()
        if "convergence has been achieved" not in output:
            return "not_converged", "no 'convergence has been achieved' line", output
        return "converged", "", output
    except subprocess.CalledProcessError as error:
        pwo = directory / "espresso.pwo"
        output = pwo.read_text() if pwo.exists() else ""
        if error.returncode < 0 or error.returncode in (137, 143):
            return "killed", f"pw.x killed (exit {error.returncode})", output
        if "convergence NOT achieved" in output:
            return "not_converged", f"SCF not converged in {input_data['electrons']['electron_maxstep']} steps", output
        err = directory / "espresso.err"
        tail = (err.read_text() if err.exists() else "")[-500:] + output[-500:]
        return "crashed", f"pw.x exit {error.returncode}: {tail.strip()[-600:]}", output


def run_structure(atoms: Atoms, structure_id: str, settings: DftSettings, workdir: Path,
                  launch: Launch | str, kpoints: list[int] | None = None) -> StructureResult:
    """Label one structure, or return its finished result from ``workdir`` (same fingerprint
    and k-points). ``launch``: how pw.x starts (:class:`Launch`, or a fixed command).

    ``kpoints``: an explicit Monkhorst–Pack mesh; None: :func:`kpoint_grid` at
    ``settings.kspacing``. A ``not_converged`` SCF is retried with safer settings up to
    ``settings.max_attempts``.
    """
    kpoints = kpoint_grid(atoms, settings.kspacing) if kpoints is None else [int(k) for k in kpoints]
    directory = workdir / structure_id
    record = directory / "result.json"
    fingerprint = settings.fingerprint()
    runs = 1
    if record.exists():
        previous = StructureResult(**json.loads(record.read_text()))
        if (previous.fingerprint == fingerprint and previous.kpoints == kpoints
                and _same_structure(atoms, directory / f"attempt_{previous.attempts}")):
            if previous.is_final(settings.max_attempts):
                log.info("%s: %s earlier, reused", structure_id, previous.status)
                return previous
            runs = previous.runs + 1
    start = time.perf_counter()
    status, reason, output = "crashed", "not run", ""
    attempt = 0
    for attempt in range(1, settings.max_attempts + 1):
        status, reason, output = _run_attempt(atoms, settings, directory / f"attempt_{attempt}",
                                              launch, attempt - 1, kpoints)
        log.info("%s: attempt %d: %s %s", structure_id, attempt, status, reason[:200])
        if status != "not_converged":
            break
    result = StructureResult(structure_id, status, reason, attempt, time.perf_counter() - start,
                             fingerprint, _code_version(output), kpoints, runs)
    if status == "converged":
        labelled = _read_labels(directory / f"attempt_{attempt}" / "espresso.pwo")
        result.energy = float(labelled.get_potential_energy())
        result.forces = labelled.get_forces().tolist()
        result.stress = labelled.get_stress().tolist()
    with atomic_path(record) as tmp:
        tmp.write_text(json.dumps(asdict(result)))
    return result


def _same_structure(atoms: Atoms, attempt: Path, tolerance: float = 1e-6) -> bool:
    """Whether the pw.x input in ``attempt`` holds ``atoms`` (elements, cell and positions
    within ``tolerance`` Å): a finished result is reused only for the structure it belongs to,
    never for another one that got the same id (a resampled pool, a new lattice constant)."""
    import ase.io

    pwi = attempt / "espresso.pwi"
    if not pwi.exists():
        return False
    previous = ase.io.read(pwi, format="espresso-in")
    return (len(previous) == len(atoms) and bool((previous.numbers == atoms.numbers).all())
            and np.allclose(previous.cell.array, atoms.cell.array, rtol=0, atol=tolerance)
            and np.allclose(previous.positions, atoms.positions, rtol=0, atol=tolerance))


def _read_labels(pwo: Path) -> Atoms:
    import ase.io

    return ase.io.read(pwo, format="espresso-out")


def label_shard(frames: Sequence[Atoms], settings: DftSettings, workdir: Path, launch: Launch | str,
                kpoints: Sequence[list[int]] | None = None) -> tuple[list[Atoms], list[StructureResult]]:
    """Label every frame of a shard; returns (converged frames, one result per frame).

    ``kpoints``: an explicit mesh per frame; None: each from ``settings.kspacing``.

    A converged frame keeps its input geometry and info; the DFT labels become its
    calculator's results and the empirical ones move to ``emp_energy``, ``emp_forces``,
    ``emp_stress``.
    """
    labelled, results = [], []
    for index, atoms in enumerate(frames, start=1):
        structure_id = structure_name(atoms)
        log.info("structure %d / %d: %s (%d atoms)", index, len(frames), structure_id, len(atoms))
        result = run_structure(atoms, structure_id, settings, workdir, launch,
                               None if kpoints is None else kpoints[index - 1])
        results.append(result)
        if result.status == "converged":
            labelled.append(with_dft_labels(atoms, result, settings))
    return labelled, results


def label_or_retry(frames: Sequence[Atoms], settings: DftSettings, workdir: Path,
                   launch: Launch | str) -> tuple[list[Atoms], dict[str, Any]]:
    """:func:`label_shard`, then fail if any structure is left to retry; returns the converged
    frames and the :func:`status_summary` (with the settings and launch command).

    Raises:
        RuntimeError: listing the structures a rerun will compute (finished ones are kept in
            ``workdir`` and reused).
    """
    labelled, results = label_shard(frames, settings, workdir, launch)
    retry = unfinished(results, settings.max_attempts)
    if retry:
        raise RuntimeError(
            f"{len(retry)} structures to retry (finished ones are kept in {workdir} and reused "
            "when this job runs again):\n"
            + "\n".join(f"  {r.structure_id}: {r.status} ({r.reason[:200]})" for r in retry))
    summary = status_summary(results)
    summary.update(settings=settings.record(), launch=launch.template if isinstance(launch, Launch) else launch)
    return labelled, summary


def unfinished(results: Sequence[StructureResult], max_attempts: int) -> list[StructureResult]:
    """Structures a rerun of their shard would try again (killed, or crashed too few times)."""
    return [r for r in results if not r.is_final(max_attempts)]


def structure_name(atoms: Atoms) -> str:
    """Stable id of a structure: its ``info['structure_id']`` where set (equation-of-state
    cells), else that of a pool frame, ``frame_<pool index>``."""
    if "structure_id" in atoms.info:
        return str(atoms.info["structure_id"])
    return f"frame_{int(atoms.info['pool_index']):06d}"


def with_dft_labels(atoms: Atoms, result: StructureResult, settings: DftSettings) -> Atoms:
    """Copy of ``atoms`` with DFT labels as calculator results, empirical ones kept aside."""
    out = atoms.copy()
    if atoms.calc is not None:
        out.info["emp_energy"] = atoms.get_potential_energy()
        out.info["emp_stress"] = atoms.get_stress()
        out.arrays["emp_forces"] = atoms.get_forces()
    out.info.update(structure_id=result.structure_id, dft_fingerprint=result.fingerprint,
                    dft_code=result.code_version, dft_wall_time_s=result.wall_time_s,
                    dft_attempts=result.attempts, dft_ecutwfc_ry=settings.ecutwfc,
                    dft_kpoints=np.array(result.kpoints))
    out.calc = SinglePointCalculator(out, energy=result.energy, forces=np.array(result.forces),
                                     stress=np.array(result.stress))
    return out


def status_summary(results: Sequence[StructureResult]) -> dict[str, Any]:
    """Counts per status and the failed structures with their reasons (for the status file)."""
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return {
        "counts": counts,
        "structures": [{k: v for k, v in asdict(r).items() if k not in ("forces", "stress")}
                       for r in results],
    }


def check_failures(statuses: Sequence[Mapping[str, Any]], max_failed_fraction: float) -> list[dict]:
    """Failed structures over all shards; raise when their fraction exceeds the tolerance.

    Raises:
        RuntimeError: listing every failed structure id with its status and reason.
    """
    structures = [s for status in statuses for s in status["structures"]]
    failed = [s for s in structures if s["status"] != "converged"]
    if structures and len(failed) / len(structures) > max_failed_fraction:
        lines = "\n".join(f"  {s['structure_id']}: {s['status']}: {s['reason'][:200]}" for s in failed)
        raise RuntimeError(
            f"{len(failed)} of {len(structures)} DFT structures failed, more than "
            f"dft.max_failed_fraction = {max_failed_fraction}:\n{lines}"
        )
    return failed
