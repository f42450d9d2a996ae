"""Coulomb energy, forces and stress of point charges in periodic cells (torch-pme).

    E_C = ½ Σ_i Σ_j Σ_n' k_e q_i q_j / |r_j − r_i + n|,   k_e = e²/(4πε₀) = 14.3996 eV Å

evaluated with torch-pme's Ewald sum (small cells) or particle-mesh Ewald (≥ 1000 atoms) on
vesin neighbour lists; forces F = −∂E/∂r and the stress σ = (1/V) ∂E/∂ε come from autograd
(the strain ε deforms positions and cell together, r → r(I+ε), cell → cell(I+ε)). Units: e,
Å, eV, eV/Å, eV/Å³ with ASE's sign (positive under tension) and Voigt order xx yy zz yz xz xy.

E, F and σ are quadratic forms in the charges. A charge scan that multiplies every charge by
q, E_C(q) = q² E_C(1) (likewise F and σ), therefore needs one evaluation at unit charges and
then only rescales stored arrays: :meth:`CoulombResult.scaled`.

Only neutral, fully periodic cells are accepted: a charged cell's energy depends on a
neutralising background and is not what the charge scan wants.

The convergence parameters follow from one dimensionless ``accuracy`` ε by the explicit
rules in :func:`coulomb`, checked against converged Ewald sums, not from torch-pme's tuner: in
torch-pme 0.5.0 ``EwaldCalculator(lr_wavelength=λ)`` keeps only the wave vectors with
|n_i| ≤ |a_i|/(2λ), which along the axes stops at |k| = π/λ, half the nominal 2π/λ, and its
Ewald tuner is off by the same factor 2 (errors of ~150 meV/atom at a claimed 1 meV/Å).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ase
import numpy as np
import torch
import torchpme
import vesin
from torchpme.lib import get_ns_mesh

from ionnp.chemistry import Chemistry
from ionnp.voigt import to_voigt

#: e²/(4πε₀) in eV Å (torch-pme's ``prefactors.eV_A``, CODATA).
COULOMB_CONSTANT = torchpme.prefactors.eV_A
#: ``method="auto"`` switches from Ewald (O(N^1.5)) to PME (O(N log N)) at this many atoms.
PME_MIN_ATOMS = 1000
#: Lagrange interpolation nodes per axis in PME (7, torch-pme's maximum: the most accurate
#: per mesh point).
PME_INTERPOLATION_NODES = 7
#: Relative cost of a PME mesh point against a real-space pair (measured on 2 CPU cores,
#: 500–10⁴ atoms).
_MESH_POINT_COST = 0.25


@dataclass(frozen=True)
class CoulombResult:
    """Coulomb energy, forces and stress of one structure.

    Attributes:
        energy: total energy (eV).
        forces: −∂E/∂r, shape (N, 3) (eV/Å).
        stress: (1/V) ∂E/∂ε in Voigt order xx yy zz yz xz xy, shape (6,) (eV/Å³, ASE sign).
        energies: per-atom energies q_i φ_i, shape (N,) (eV), summing to ``energy`` (one
            partition of the Ewald energy: each atom's charge times the potential there, ½
            included); None where not stored.
    """

    energy: float
    forces: np.ndarray
    stress: np.ndarray
    energies: np.ndarray | None = None

    def scaled(self, factor: float) -> CoulombResult:
        """The result for all charges multiplied by ``factor``: everything scales as factor²."""
        factor2 = factor * factor
        energies = None if self.energies is None else self.energies * factor2
        return CoulombResult(self.energy * factor2, self.forces * factor2, self.stress * factor2,
                             energies)


def coulomb(
    atoms: ase.Atoms,
    charges: np.ndarray | Mapping[str, float],
    *,
    accuracy: float = 1e-8,
    method: str = "auto",
    dtype: torch.dtype = torch.float64,
) -> CoulombResult:
    """Coulomb energy, forces and stress of point charges in a neutral periodic cell.

    Args:
        atoms: the structure (Å); must be periodic along all three cell vectors.
        charges: per atom, shape (N,), or per element, e.g. ``{"Zn": 2, "O": -2}`` (e).
            They must sum to zero (|Σq| ≤ 1e-6 e).
        accuracy: ε, the size of the neglected Gaussian tails (dimensionless, see below).
        method: ``"ewald"``, ``"pme"``, or ``"auto"`` (PME from :data:`PME_MIN_ATOMS` atoms).
        dtype: torch dtype of the calculation; float32 limits the accuracy to ~1e-6 relative.

    Returns:
        Energy (eV), forces (N, 3) (eV/Å) and stress (6,) (eV/Å³).

    Parameter rule. s = √ln(1/ε); α = 1/(√2 σ) is the Ewald splitting (σ: torch-pme's
    ``smearing``); N atoms in volume V.

    * Ewald: α = √π (N/V²)^{1/6}, the textbook balance of real-space and reciprocal work
      (within ~30% of the fastest α measured here); real-space cut-off r_c = s/α and
      reciprocal cut-off K = 2αs, so both neglected Gaussian tails, e^{−α²r_c²} and
      e^{−K²/4α²}, equal ε. All lattice vectors 0 < |k| ≤ K are passed to torch-pme
      explicitly (its ``lr_wavelength`` is not used).
    * PME: Lagrange interpolation with 7 nodes per axis on a power-of-two mesh whose largest
      spacing along a cell vector is h; σ = h/c with c = 0.14 (ε/1e-8)^{1/9} (calibrated: the
      mesh error of the energy per atom is then ≲ ε eV for unit-size charges) and
      r_c = s √2 σ as for Ewald. Of the meshes torch-pme can build, the one minimising
      (real-space pairs + 0.5 × mesh points) is used.

    Measured accuracy against Ewald at ε = 1e-13 (1000-atom cells: rattled rocksalt and
    wurtzite ZnO with ±1 charges, and a 0.3 Å-rattled cell with random charges of rms 1 e).
    At the default ε = 1e-8: Ewald |ΔE|/N ≤ 3e-8 eV, max |ΔF| ≤ 1.3e-7 eV/Å, max |Δσ| ≤ 4e-8
    eV/Å³; PME |ΔE|/N ≤ 2e-8 eV, max |ΔF| ≤ 1.3e-6 eV/Å (±1 crystals; 9e-6 eV/Å with the
    random charges), max |Δσ| ≤ 2e-8 eV/Å³. The errors follow ε (at 1e-6 and 1e-10: |ΔE|/N
    ≤ 1.4e-6 and ≤ 8e-10 eV) and scale as q². Madelung constants come out within 4e-7 and a
    random triclinic cell within 1e-7 eV of a direct numpy Ewald sum.
    """
    if not 0 < accuracy < 1:
        raise ValueError(f"accuracy must lie in (0, 1), not {accuracy}")
    if not atoms.pbc.all():
        raise ValueError(f"{_formula(atoms)}: Coulomb sums need a 3D-periodic cell")
    q = _per_atom_charges(atoms, charges)
    if abs(q.sum()) > 1e-6:
        raise ValueError(
            f"{_formula(atoms)}: charges sum to {q.sum():+.6g} e; only neutral cells are supported"
        )
    if method == "auto":
        method = "pme" if len(atoms) >= PME_MIN_ATOMS else "ewald"
    if method == "ewald":
        return _ewald(atoms, q, accuracy, dtype)
    if method == "pme":
        return _pme(atoms, q, accuracy, dtype)
    raise ValueError(f"method must be 'auto', 'ewald' or 'pme', not {method!r}")


def _formula(atoms: ase.Atoms) -> str:
    return atoms.get_chemical_formula(mode="metal")


def _per_atom_charges(atoms: ase.Atoms, charges: np.ndarray | Mapping[str, float]) -> np.ndarray:
    if isinstance(charges, Mapping):
        missing = set(atoms.get_chemical_symbols()) - set(charges)
        if missing:
            raise ValueError(f"{_formula(atoms)}: no charge for {sorted(missing)}")
        return np.array([float(charges[s]) for s in atoms.get_chemical_symbols()])
    q = np.asarray(charges, dtype=float)
    if q.shape != (len(atoms),):
        raise ValueError(f"{_formula(atoms)}: charges have shape {q.shape}, need ({len(atoms)},)")
    return q


def _ewald(atoms: ase.Atoms, q: np.ndarray, accuracy: float, dtype: torch.dtype) -> CoulombResult:
    s = math.sqrt(math.log(1 / accuracy))
    cell = atoms.cell.array
    alpha = math.sqrt(math.pi) * (len(atoms) / atoms.get_volume() ** 2) ** (1 / 6)
    k_cut = 2 * alpha * s
    # Integer wave vectors n (k = 2π n·cell⁻ᵀ) with 0 < |k| ≤ K: |n_i| ≤ K |a_i| / 2π.
    n_max = np.floor(k_cut * np.linalg.norm(cell, axis=1) / (2 * np.pi)).astype(int)
    n = np.stack(
        np.meshgrid(*(np.arange(-m, m + 1) for m in n_max), indexing="ij"), axis=-1
    ).reshape(-1, 3)
    k2 = ((2 * np.pi * n @ np.linalg.inv(cell).T) ** 2).sum(axis=1)
    n = n[(k2 > 0) & (k2 <= k_cut**2)]
    calculator = torchpme.EwaldCalculator(
        torchpme.CoulombPotential(smearing=1 / (math.sqrt(2) * alpha), prefactor=COULOMB_CONSTANT),
        lr_wavelength=math.pi / k_cut,  # required but unused: the k-vectors are passed in
    )
    return _evaluate(atoms, q, calculator, s / alpha, dtype, n)


def _pme(atoms: ase.Atoms, q: np.ndarray, accuracy: float, dtype: torch.dtype) -> CoulombResult:
    s = math.sqrt(math.log(1 / accuracy))
    spacing_per_sigma = 0.14 * (accuracy / 1e-8) ** (1 / 9)
    cell = torch.tensor(atoms.cell.array, dtype=torch.float64)
    lengths = torch.linalg.norm(cell, dim=1).tolist()
    pairs_per_cutoff3 = len(atoms) ** 2 / atoms.get_volume() * 2 * math.pi / 3  # half list

    def candidate(mesh_spacing: float) -> tuple[float, float, float, float]:
        ns = get_ns_mesh(cell, mesh_spacing).tolist()
        sigma = max(a / n for a, n in zip(lengths, ns)) / spacing_per_sigma
        cutoff = s * math.sqrt(2) * sigma
        cost = pairs_per_cutoff3 * cutoff**3 + _MESH_POINT_COST * math.prod(ns)
        return cost, mesh_spacing, sigma, cutoff

    # torch-pme puts 2^⌈log2(2|a_i|/mesh_spacing + 1)⌉ points along a_i: these mesh_spacing
    # values are where axis i reaches 2^m points.
    _, mesh_spacing, sigma, cutoff = min(
        candidate(2 * a / (2**m - 1)) for a in lengths for m in range(3, 11)
    )
    calculator = torchpme.PMECalculator(
        torchpme.CoulombPotential(smearing=sigma, prefactor=COULOMB_CONSTANT),
        mesh_spacing=mesh_spacing,
        interpolation_nodes=PME_INTERPOLATION_NODES,
    )
    return _evaluate(atoms, q, calculator, cutoff, dtype)


def _evaluate(
    atoms: ase.Atoms,
    q: np.ndarray,
    calculator: torchpme.Calculator,
    cutoff: float,
    dtype: torch.dtype,
    kvector_indices: np.ndarray | None = None,
) -> CoulombResult:
    """E = Σ_i q_i φ_i (torch-pme's per-atom φ_i already holds the ½); F and σ by autograd.

    ``cutoff`` is the real-space cut-off (Å); ``kvector_indices`` (n_k, 3) are the integer
    wave vectors n, k = 2π n·cell⁻ᵀ, for Ewald (None for PME).
    """
    calculator = calculator.to(dtype=dtype)
    i, j, shifts = vesin.NeighborList(cutoff=cutoff, full_list=False).compute(
        atoms.positions, atoms.cell.array, True, "ijS"
    )
    pairs = torch.from_numpy(np.stack([i, j], axis=1).astype(np.int64))
    positions = torch.tensor(atoms.positions, dtype=dtype, requires_grad=True)
    strain = torch.zeros((3, 3), dtype=dtype, requires_grad=True)
    deformation = torch.eye(3, dtype=dtype) + strain
    strained = positions @ deformation
    cell = torch.tensor(atoms.cell.array, dtype=dtype) @ deformation
    lattice_shifts = torch.from_numpy(shifts).to(dtype) @ cell
    vectors = strained[pairs[:, 1]] - strained[pairs[:, 0]] + lattice_shifts
    kvectors = None
    if kvector_indices is not None:
        reciprocal = 2 * math.pi * torch.linalg.inv(cell).T
        kvectors = torch.from_numpy(kvector_indices).to(dtype) @ reciprocal
    charges = torch.tensor(q, dtype=dtype).unsqueeze(1)  # torch-pme wants (N, n_channels)
    potentials = calculator(
        charges, cell, strained, pairs, torch.linalg.norm(vectors, dim=1), kvectors=kvectors
    )
    per_atom = (charges * potentials).squeeze(1)
    energy = per_atom.sum()
    gradient, virial = torch.autograd.grad(energy, (positions, strain))
    stress = (0.5 * (virial + virial.T) / atoms.get_volume()).double().numpy()
    return CoulombResult(
        energy=float(energy.detach()),
        forces=-gradient.double().numpy(),
        stress=to_voigt(stress),
        energies=per_atom.detach().double().numpy(),
    )


def write_results(path: str | os.PathLike, results: Sequence[CoulombResult],
                  metadata: Mapping[str, object] | None = None) -> None:
    """Store per-structure results (full precision, ``.npz``): energies (S,), stresses (S, 6),
    forces (ΣN, 3) and per-atom energies (ΣN,) concatenated, with ``offsets`` (S+1,) marking
    each structure's rows; ``metadata`` (e.g. the chemistry) as JSON text."""
    import json

    from ionnp.io import atomic_path

    offsets = np.cumsum([0] + [len(r.forces) for r in results])
    arrays = dict(energy=np.array([r.energy for r in results]),
                  stress=np.array([r.stress for r in results]).reshape(-1, 6),
                  forces=np.concatenate([r.forces for r in results]).reshape(-1, 3),
                  offsets=offsets, metadata=np.array(json.dumps(dict(metadata or {}))))
    if results and all(r.energies is not None for r in results):
        arrays["energies"] = np.concatenate([r.energies for r in results])
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


def read_results(path: str | os.PathLike) -> list[CoulombResult]:
    """Results written by :func:`write_results`, in order."""
    data = np.load(path)
    o = data["offsets"]
    energies = data["energies"] if "energies" in data else None
    return [CoulombResult(float(e), data["forces"][o[k]:o[k + 1]], data["stress"][k],
                          None if energies is None else energies[o[k]:o[k + 1]])
            for k, e in enumerate(data["energy"])]


def read_metadata(path: str | os.PathLike) -> dict:
    """The ``metadata`` stored by :func:`write_results` ({} for files without)."""
    import json

    data = np.load(path)
    return json.loads(str(data["metadata"])) if "metadata" in data else {}


def check_coulomb_file(path: str | os.PathLike, chemistry: Chemistry) -> None:
    """Refuse a unit-charge Coulomb file computed for another chemistry than ``chemistry``.

    Raises:
        ValueError: naming the file, the chemistry it holds and the config's.
    """
    stored = read_metadata(path).get("chemistry")
    if stored is None:
        return
    if "charges" not in stored:  # an older ionnp's binary record
        raise ValueError(f"{path} was computed by an older ionnp ({stored}); rerun its rule")
    if Chemistry.from_dict(stored) != chemistry:
        raise ValueError(f"{path} was computed for {Chemistry.from_dict(stored)}, but "
                         f"potential.charges gives {chemistry}; rerun its rule")
