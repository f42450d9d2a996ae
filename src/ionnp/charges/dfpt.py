"""The effective charge from density-functional perturbation theory: ε∞ and Born charges.

A pw.x SCF with fixed occupations on the ground state's primitive cell
(``prototypes.roles.ground_state``), then ph.x at Γ with ``epsil = .true., trans = .false.,
zeu = .true.``: the electric-field response only (no phonons), which gives the high-frequency
dielectric tensor ε∞ and the Born effective charges Z*_κ,αβ = ∂F_κβ/∂E_α (QE's "d Force / dE").

The scale λ of the formal charges z_κ is the dielectric-screened mode effective charge of the
displacement pattern of the frozen modulations (cations by +u ê, anions by −u ê, s_κ = ±1):

    λ = |Σ_κ s_κ Z̄*_κ| / (√ε̄∞ Σ_κ |z_κ|),   Z̄*_κ = Tr Z*_κ / 3,   ε̄∞ = Tr ε∞ / 3,

the polarisation that pattern carries in DFT over the one it carries at the formal charges,
screened by √ε̄∞, and q_DFPT = λ z_ref (the reference species' charge,
:class:`ionnp.chemistry.Chemistry`). For a 1:1 compound with |Z*| equal on both species
(the acoustic sum rule) this is Z*/√ε∞; the per-direction values (Z*_αα and ε∞,αα; wurtzite:
in-plane and along c) are recorded beside it. ε∞ converges slowly with the k-mesh (the band-gap region must be
sampled finely): every configured k spacing is computed and recorded, q is taken from the
finest, and the change from the next-coarser one is reported as its k-point uncertainty.

Each k spacing's calculation lives in ``<workdir>/k<spacing>/`` with a ``result.json``
(fingerprint of settings and pseudopotentials); a finished one is reused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.espresso import Espresso, EspressoProfile

from ionnp.chemistry import Chemistry
from ionnp.dft.pw import (
    DftSettings,
    Launch,
    attempt_parameters,
    command_for,
    environment_for,
    kpoint_grid,
    started_as,
)
from ionnp.io import atomic_path

log = logging.getLogger(__name__)

_PH_INPUT = """dielectric response at Gamma
&inputph
  prefix = 'ionnp'
  outdir = './out'
  fildyn = 'dielectric.dyn'
  tr2_ph = {tr2_ph:.1e}
  epsil = .true.
  trans = .false.
  zeu = .true.
/
0.0 0.0 0.0
"""


@dataclass(frozen=True)
class DielectricResponse:
    """ph.x's electric-field response of one cell.

    Attributes:
        epsilon: ε∞, shape (3, 3) (dimensionless).
        born: Born charges Z*_κ,αβ, shape (N, 3, 3) (e; rows α: the field direction).
        symbols: element of each atom, length N.
    """

    epsilon: np.ndarray
    born: np.ndarray
    symbols: tuple[str, ...]

    def charge(self, chemistry: Chemistry) -> float:
        """q = λ z_ref (e), λ the isotropic mode effective charge (module docstring)."""
        born = np.trace(self.born, axis1=1, axis2=2) / 3.0
        return self._charge(born, float(np.trace(self.epsilon)) / 3.0, chemistry)

    def directional_charges(self, chemistry: Chemistry) -> list[float]:
        """q_α (e) for α = x, y, z: the same from Z*_αα and ε∞,αα."""
        diagonal = np.einsum("kaa->ka", self.born)
        return [self._charge(diagonal[:, a], float(self.epsilon[a, a]), chemistry) for a in range(3)]

    def _charge(self, born: np.ndarray, epsilon: float, chemistry: Chemistry) -> float:
        formal = np.array([chemistry.charges[s] for s in self.symbols])
        mode = abs(float(np.sign(formal) @ born)) / (math.sqrt(epsilon) * np.abs(formal).sum())
        return mode * chemistry.reference_charge


def parse_ph_output(text: str) -> DielectricResponse:
    """ε∞ and the Born charges from a ph.x output (``epsil`` and ``zeu``).

    Raises:
        ValueError: the output holds no dielectric tensor or no effective charges.
    """
    number = r"(-?\d+\.\d+(?:[eEdD][-+]?\d+)?)"
    block = re.search(r"Dielectric constant in cartesian axis\s*\n\s*\n((?:\s*\(.*\)\s*\n){3})", text)
    if block is None:
        raise ValueError("ph.x output: no 'Dielectric constant in cartesian axis' block")
    epsilon = np.array([[float(v) for v in re.findall(number, row)] for row in block.group(1).strip().splitlines()])
    start = text.find("Effective charges (d Force / dE) in cartesian axis")
    if start < 0:
        raise ValueError("ph.x output: no 'Effective charges (d Force / dE)' block")
    atoms = re.findall(r"atom\s+\d+\s+(\w+)\s*\n\s*Ex\s+\((.*)\)\s*\n\s*Ey\s+\((.*)\)\s*\n\s*Ez\s+\((.*)\)",
                       text[start:])
    if not atoms:
        raise ValueError("ph.x output: the effective-charge block lists no atoms")
    born = np.array([[[float(v) for v in row.split()] for row in rows] for _, *rows in atoms])
    return DielectricResponse(epsilon, born, tuple(symbol for symbol, *_ in atoms))


@dataclass
class DfptResult:
    """One k spacing's DFPT outcome (JSON-serialisable): status ``converged`` or ``failed``
    (with the reason), the k-mesh, ε∞ (3 × 3), Born charges (N × 3 × 3) and the charges."""

    kspacing: float
    status: str
    fingerprint: str
    kpoints: list[int]
    reason: str = ""
    epsilon: list = field(default_factory=list)
    born: list = field(default_factory=list)
    symbols: list = field(default_factory=list)
    attempts: int = 0

    def response(self) -> DielectricResponse:
        return DielectricResponse(np.array(self.epsilon), np.array(self.born), tuple(self.symbols))


def fingerprint(settings: DftSettings, atoms: Atoms, tr2_ph: float) -> str:
    """Hash of what changes a DFPT result: the pw.x settings (pseudopotential content included),
    the structure and the ph.x threshold."""
    payload = {"pw": settings.fingerprint(), "tr2_ph": tr2_ph,
               "numbers": atoms.numbers.tolist(), "cell": np.round(atoms.cell.array, 10).tolist(),
               "positions": np.round(atoms.positions, 10).tolist()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def run_dfpt(atoms: Atoms, settings: DftSettings, workdir: Path, launch: Launch | str,
             tr2_ph: float = 1e-14) -> DfptResult:
    """pw.x (fixed occupations) then ph.x on ``atoms`` at ``settings.kspacing``, or the finished
    result in ``workdir`` with the same fingerprint. ``launch``: how both start
    (:class:`ionnp.dft.pw.Launch`, or a fixed pw.x command). A failed run is recorded with its
    reason (the tail of the program's output), not raised. An SCF that does not converge is
    tried again with the safer settings of :func:`ionnp.dft.pw.attempt_parameters`, up to
    ``settings.max_attempts``, as every other pw.x run."""
    record = workdir / "result.json"
    expected = fingerprint(settings, atoms, tr2_ph)
    if record.exists():
        stored = json.loads(record.read_text())  # older records also hold the charges: derived, not kept
        previous = DfptResult(**{key: stored[key] for key in DfptResult.__dataclass_fields__ if key in stored})
        if previous.fingerprint == expected and previous.status == "converged":
            return previous
    kpoints = kpoint_grid(atoms, settings.kspacing)
    result = DfptResult(settings.kspacing, "failed", expected, kpoints)
    pw_command, ph_command = (command_for(launch, executable, atoms, kpoints) for executable in ("pw.x", "ph.x"))
    try:
        result.attempts = _converged_scf(atoms, settings, workdir, pw_command, kpoints)
        (workdir / "ph.in").write_text(_PH_INPUT.format(tr2_ph=tr2_ph))
        with open(workdir / "ph.in") as stdin, open(workdir / "ph.out", "w") as stdout:
            subprocess.run(ph_command.split(), stdin=stdin, stdout=stdout, stderr=subprocess.STDOUT,
                           cwd=workdir, check=True, env=environment_for(ph_command))
        response = parse_ph_output((workdir / "ph.out").read_text())
        result.status = "converged"
        result.epsilon, result.born = response.epsilon.tolist(), response.born.tolist()
        result.symbols = list(response.symbols)
    except (subprocess.CalledProcessError, ValueError) as error:
        if not result.attempts and "convergence NOT achieved" in _text(workdir / "espresso.pwo"):
            result.attempts = settings.max_attempts
        outputs = [workdir / name for name in ("espresso.pwo", "ph.out") if (workdir / name).exists()]
        tail = outputs[-1].read_text()[-400:] if outputs else ""
        result.reason = f"{error}: {tail.strip()}"
    with atomic_path(record) as tmp:
        tmp.write_text(json.dumps(asdict(result)))
    return result


def _text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def _converged_scf(atoms: Atoms, settings: DftSettings, workdir: Path, command: str,
                   kpoints: list[int]) -> int:
    """The fixed-occupation SCF ph.x starts from (in ``workdir/out``); returns the attempts it
    took. Raises the last attempt's error when none converged, or at once on a crash."""
    for attempt in range(1, settings.max_attempts + 1):
        input_data = {
            "control": {"calculation": "scf", "prefix": "ionnp", "outdir": "./out"},
            "system": {"ecutwfc": settings.ecutwfc, "ecutrho": settings.ecutrho, "occupations": "fixed"},
            "electrons": {"conv_thr": 1e-12 * len(atoms), **attempt_parameters(settings, attempt - 1)},
        }
        scf = atoms.copy()
        scf.calc = Espresso(profile=EspressoProfile(command=command, pseudo_dir=settings.pseudo_dir),
                            directory=str(workdir), input_data=input_data,
                            pseudopotentials=dict(settings.pseudopotentials), kpts=kpoints)
        try:
            with started_as(command):
                scf.get_potential_energy()
            return attempt
        except subprocess.CalledProcessError:
            if attempt == settings.max_attempts or "convergence NOT achieved" not in _text(workdir / "espresso.pwo"):
                raise
            log.info("DFPT SCF at k spacing %g: attempt %d did not converge, trying safer mixing",
                     settings.kspacing, attempt)
    raise ValueError(f"dft.max_attempts = {settings.max_attempts}: at least one SCF attempt is needed")


def dfpt_series(atoms: Atoms, settings: DftSettings, kspacings: Sequence[float], workdir: Path,
                launch: Launch | str, tr2_ph: float = 1e-14) -> list[DfptResult]:
    """:func:`run_dfpt` at each k spacing (Å⁻¹) in ``workdir/k<spacing>``, each reused when
    finished."""
    results = []
    for kspacing in kspacings:
        result = run_dfpt(atoms, replace(settings, kspacing=kspacing), Path(workdir) / f"k{kspacing:.3f}",
                          launch, tr2_ph)
        log.info("k spacing %g (%s): %s %s", kspacing, result.kpoints, result.status, result.reason[:300])
        results.append(result)
    return results


def summarise(results: Sequence[DfptResult], chemistry: Chemistry) -> dict[str, Any]:
    """q from the finest converged k spacing, its k-point uncertainty (the change from the next
    coarser one; None with one: not assessed), ε̄∞ and the mean |Z*| there, and every k spacing's record.

    Raises:
        RuntimeError: no k spacing converged (each failure's reason listed).
    """
    converged = sorted((r for r in results if r.status == "converged"), key=lambda r: r.kspacing)
    if not converged:
        raise RuntimeError("DFPT failed at every k spacing:\n" + "\n".join(
            f"  k spacing {r.kspacing}: {r.reason[:300]}" for r in results))
    finest = converged[0]
    response = finest.response()
    q = response.charge(chemistry)
    q_error = abs(converged[1].response().charge(chemistry) - q) if len(converged) > 1 else None
    return {
        "q": q, "q_error": q_error, "scale": chemistry.scale(q), "kspacing": finest.kspacing,
        "kpoints": finest.kpoints, "q_directional": response.directional_charges(chemistry),
        "epsilon_inf": float(np.trace(response.epsilon) / 3.0),
        "born_charge": float(np.mean(np.abs(np.trace(response.born, axis1=1, axis2=2) / 3.0))),
        "average": "q = z_ref |sum_k s_k Tr Z*_k/3| / (sqrt(Tr eps_inf/3) sum_k |z_k|), s_k = sign z_k",
        "per_kspacing": [asdict(r) for r in results],
    }
