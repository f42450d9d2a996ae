"""The DFT dataset: sampled structures and equation-of-state cells, with their splits.

Sampled structures (the distilled pool frames) are split stratified by (phase, run pressure)
(:func:`stratified_split`). Equation-of-state cells (pw.x at fixed-shape volumes of
each polymorph, :mod:`ionnp.evaluate.eos`) bring what sampling at high temperature lacks: each phase near
its equilibrium and under uniform strain. Alternate volumes go to train and test
(:func:`alternate_split`), so the NNP's equation of state and transition pressure are partly an
out-of-sample test. Every frame carries ``source`` ('sampling' or 'eos'), ``phase``,
``run_pressure_gpa`` and the empirical potential's labels ``emp_energy`` (eV), ``emp_forces``
(eV/Å), ``emp_stress`` (eV/Å³), which the evaluation compares against.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.units import GPa

from ionnp.lammps.empirical import evaluate
from ionnp.potential import RigidIonPotential
from ionnp.voigt import to_voigt


def alternate_split(volume_scales: Sequence[float]) -> list[str]:
    """'train' for the 1st, 3rd, ... smallest volume, 'test' for the 2nd, 4th, ...; one name
    per item, in the order given."""
    rank = np.argsort(np.argsort(volume_scales, kind="stable"), kind="stable")
    return ["train" if r % 2 == 0 else "test" for r in rank]


def eos_frames_for_training(frames: Sequence[Atoms], potential: RigidIonPotential) -> list[Atoms]:
    """Copies of DFT-labelled equation-of-state cells (``info`` with ``phase``, ``volume_scale``)
    ready for the dataset: empirical labels from LAMMPS, ``run_pressure_gpa`` = the empirical
    pressure of the cell (GPa; what a sampling run's pressure means too), ``pool_index`` −1,
    ``run_temperature_k`` 0, ``source`` 'eos', and the split of :func:`alternate_split` within
    each phase."""
    out = []
    for atoms in frames:
        labels = evaluate(atoms, potential)
        frame = atoms.copy()
        frame.calc = atoms.calc
        frame.info.update(emp_energy=labels.energy, emp_stress=np.asarray(labels.stress),
                          run_pressure_gpa=float(-np.mean(labels.stress[:3]) / GPa),
                          run_temperature_k=0.0, pool_index=-1, source="eos")
        frame.arrays["emp_forces"] = np.asarray(labels.forces)
        out.append(frame)
    for phase in {a.info["phase"] for a in out}:
        mine = [a for a in out if a.info["phase"] == phase]
        for atoms, name in zip(mine, alternate_split([a.info["volume_scale"] for a in mine])):
            atoms.info["split"] = name
    return out


def remove_pulay_stress(frames: Sequence[Atoms], pulay_pressure_gpa: float) -> None:
    """Remove a Pulay stress from DFT labels, in place: the spurious isotropic pressure
    ``pulay_pressure_gpa`` (GPa; P_stress − (−dE/dV) of the DFT equations of state,
    :func:`ionnp.evaluate.eos.stress_check`) is taken off the diagonal of each frame's
    calculator stress (Voigt, eV/Å³, ASE sign: stress = −P), and recorded as
    ``info['pulay_pressure_gpa']``. Frames without a DFT stress are left as they are."""
    for atoms in frames:
        stress = atoms.calc.results.get("stress") if atoms.calc is not None else None
        if stress is None:
            continue
        corrected = np.array(to_voigt(stress), dtype=float)
        corrected[:3] += pulay_pressure_gpa * GPa
        atoms.calc.results["stress"] = corrected
        atoms.info["pulay_pressure_gpa"] = float(pulay_pressure_gpa)


def _largest_remainder(weights: np.ndarray, n: int) -> np.ndarray:
    """Integer counts proportional to ``weights`` that add up to ``n`` (largest remainders)."""
    exact = weights * n
    counts = np.floor(exact).astype(int)
    for k in np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]:
        counts[k] += 1
    return counts


def _interleaved(keys: list) -> list:
    """Strata keys in round-robin order over their first component (for tuple keys), so that
    consecutive keys come from different phases: (a,0), (b,0), (a,1), (b,1), ..."""
    if not keys or not all(isinstance(k, tuple) for k in keys):
        return keys
    heads: dict[object, list] = {}
    for key in keys:
        heads.setdefault(key[0], []).append(key)
    rows = list(heads.values())
    return [row[i] for i in range(max(map(len, rows))) for row in rows if i < len(row)]


def stratified_split(strata: Sequence[object], fractions: Mapping[str, float], seed: int) -> list[str]:
    """Assign each item a split name, every stratum split in the given proportions.

    Within a stratum of n items, split s first gets ⌊n·f_s⌋ items. The items this leaves over
    (all of them in strata too small to split) are dealt out so that the totals are the
    largest-remainder counts of all items: the leftovers taken round-robin across strata
    (:func:`_interleaved`), the smallest splits served first, so that a validation or test
    split of a few structures still spans several strata. Orders within a stratum are random,
    fixed by ``seed``. Returns one name per item.
    """
    names = list(fractions)
    weights = np.array([fractions[name] for name in names], dtype=float)
    weights /= weights.sum()
    rng = np.random.default_rng(seed)
    labels = [""] * len(strata)
    groups: dict[object, list[int]] = {}
    for index, stratum in enumerate(strata):
        groups.setdefault(stratum, []).append(index)
    need = _largest_remainder(weights, len(strata))
    leftovers: dict[object, list[int]] = {}
    for stratum in sorted(groups, key=str):
        order = [int(i) for i in rng.permutation(groups[stratum])]
        counts = np.floor(weights * len(order)).astype(int)
        start = 0
        for k, count in enumerate(counts):
            for index in order[start:start + count]:
                labels[index] = names[k]
            start += count
        need -= counts
        leftovers[stratum] = order[start:]
    keys = _interleaved(sorted(leftovers, key=str))
    queue = [leftovers[key][i] for i in range(max((len(v) for v in leftovers.values()), default=0))
             for key in keys if i < len(leftovers[key])]
    for k in np.argsort(need, kind="stable"):
        for _ in range(need[k]):
            labels[queue.pop(0)] = names[k]
    return labels


__all__ = ["alternate_split", "eos_frames_for_training", "stratified_split"]
