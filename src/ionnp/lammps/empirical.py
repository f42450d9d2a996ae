"""The empirical potential in LAMMPS: one periodic configuration, its labels and box relaxation.

:class:`LammpsCell` sets the structure up through :mod:`ionnp.lammps.box` (which rotates
positions into LAMMPS's lower-triangular frame and forces and stress back), so every label comes
back in the frame of the input structure, in ASE units and sign:
energy (eV), forces (eV/Å, shape (N, 3)), stress (eV/Å³, Voigt order xx yy zz yz xz xy,
positive under tension).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.calculators.lammps import Prism
from ase.units import GPa

from ionnp.lammps.box import (
    GPA_TO_BAR,
    LMP_STYLE_ATOM,
    LMP_TYPE_VECTOR,
    box,
    create_box,
    in_id_order,
    per_atom,
    virial_stress,
)
from ionnp.lammps.runtime import new_lammps
from ionnp.potential import RigidIonPotential


@dataclass(frozen=True)
class Labels:
    """Energy (eV), per-atom energies (eV, (N,)), forces (eV/Å, (N, 3)) and stress
    (eV/Å³, Voigt (6,), ASE sign). Per-atom energies are LAMMPS's ``pe/atom``: for the
    Buckingham term alone, half of every pair energy goes to each atom of the pair."""

    energy: float
    energies: np.ndarray
    forces: np.ndarray
    stress: np.ndarray


class RelaxationError(RuntimeError):
    """A box relaxation ended with forces or stress above tolerance."""


class LammpsCell:
    """A structure loaded into LAMMPS with the rigid-ion potential (or its Buckingham part).

    Args:
        atoms: the structure; its elements must all have charges in ``potential``.
        potential: the empirical potential.
        coulomb: include the Coulomb term (Ewald); False keeps the Buckingham term only.
        md_accuracy: fast Ewald settings for dynamics (see
            :meth:`RigidIonPotential.lammps_commands`); None gives precise labels.
        log_file: LAMMPS log file, or None for no log.
    """

    def __init__(
        self,
        atoms: Atoms,
        potential: RigidIonPotential,
        *,
        coulomb: bool = True,
        md_accuracy: float | None = None,
        log_file: str | os.PathLike | None = None,
    ) -> None:
        unknown = sorted(set(atoms.get_chemical_symbols()) - set(potential.elements))
        if unknown:
            raise ValueError(f"structure {atoms.get_chemical_formula()} holds elements "
                             f"{unknown} that the potential has no charge for")
        self.potential = potential
        self.symbols = atoms.get_chemical_symbols()
        self.prism = Prism(atoms.cell.array, pbc=True)
        self.lmp = new_lammps(log_file)
        self._setup(atoms, potential.lammps_commands(coulomb, md_accuracy))

    def _setup(self, atoms: Atoms, potential_commands: list[str]) -> None:
        lmp = self.lmp
        create_box(lmp, self.prism, self.symbols, self.potential.elements, atoms.positions)
        lmp.commands_list(potential_commands)
        lmp.commands_list([
            "neighbor 2.0 bin",
            "neigh_modify every 1 delay 0 check yes",
            "compute virial all pressure NULL virial",
            "compute energies all pe/atom",
            "compute energy_sum all reduce sum c_energies",  # makes pe/atom run every step
            "thermo_style custom step pe c_virial[*] c_energy_sum",
            "thermo_modify norm no",
        ])

    def close(self) -> None:
        """Free the LAMMPS instance."""
        self.lmp.close()

    def __enter__(self) -> "LammpsCell":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading the state back -------------------------------------------------------------

    def _by_id_compute(self, name: str) -> np.ndarray:
        """Per-atom compute ``name`` (a vector) ordered by atom ID."""
        values = self.lmp.numpy.extract_compute(name, LMP_STYLE_ATOM, LMP_TYPE_VECTOR)
        return in_id_order(self.lmp, values, len(self.symbols))

    def labels(self) -> Labels:
        """Energy, forces and stress of the current configuration (input frame)."""
        lmp = self.lmp
        lmp.command("run 0 post no")
        energy = float(lmp.get_thermo("pe"))
        forces = self.prism.vector_to_ase(per_atom(lmp, "f", len(self.symbols)))
        stress = virial_stress(lmp, self.prism)
        energies = self._by_id_compute("energies")
        return Labels(energy=energy, energies=energies, forces=forces, stress=stress)

    def lammps_frame_atoms(self) -> Atoms:
        """Current structure in LAMMPS's lower-triangular frame (positions wrapped)."""
        origin, cell = box(self.lmp)
        positions = per_atom(self.lmp, "x", len(self.symbols)) - origin
        atoms = Atoms(self.symbols, positions=positions, cell=cell, pbc=True)
        atoms.wrap()
        return atoms

    # -- relaxation -------------------------------------------------------------------------

    def relax_positions(self, force_tolerance: float = 1e-4, max_steps: int = 10000) -> np.ndarray:
        """Relax the positions at the fixed cell (conjugate gradients, forces below
        ``force_tolerance`` eV/Å or ``max_steps``); returns them (N, 3) in Å in the input frame."""
        self.lmp.commands_list([
            "min_style cg",
            f"minimize 0.0 {force_tolerance!r} {max_steps} {10 * max_steps}",
        ])
        return self.prism.vector_to_ase(per_atom(self.lmp, "x", len(self.symbols)))

    def relax(
        self,
        pressure_gpa: float,
        force_tolerance: float = 1e-5,
        stress_tolerance_gpa: float = 1e-3,
        max_cycles: int = 20,
    ) -> Atoms:
        """Relax positions and the full cell at hydrostatic ``pressure_gpa``.

        Runs conjugate-gradient minimisations with ``fix box/relax tri`` until the largest
        force is below ``force_tolerance`` (eV/Å) and every stress component is within
        ``stress_tolerance_gpa`` of −pressure. box/relax measures cell strain from the box at
        the start of each minimisation, so the minimisation is restarted, up to ``max_cycles``
        times. Returns the relaxed structure in the LAMMPS frame.

        Raises:
            RelaxationError: the tolerances were not reached.
        """
        target = -pressure_gpa * GPa  # eV/Å³, ASE sign
        stress_tol = stress_tolerance_gpa * GPa
        p_bar = pressure_gpa * GPA_TO_BAR
        for _ in range(max_cycles):
            self.lmp.commands_list([
                f"fix relax all box/relax tri {float(p_bar)!r} vmax 0.001",
                "min_style cg",
                f"minimize 0.0 {force_tolerance * 0.1!r} 10000 100000",
                "unfix relax",
            ])
            # After a box change the ASE frame of the input is meaningless: read back in the
            # LAMMPS frame and continue from there.
            self.prism = Prism(self.lammps_frame_atoms().cell.array, pbc=True)
            labels = self.labels()
            fmax = np.abs(labels.forces).max()
            smax = np.abs(labels.stress - np.array([target] * 3 + [0.0] * 3)).max()
            if fmax < force_tolerance and smax < stress_tol:
                return self.lammps_frame_atoms()
        raise RelaxationError(
            f"relaxation at {pressure_gpa} GPa stopped after {max_cycles} cycles with "
            f"max force {fmax:.2e} eV/Å and stress error {smax / GPa:.2e} GPa"
        )


def evaluate(atoms: Atoms, potential: RigidIonPotential, *, coulomb: bool = True) -> Labels:
    """Precise labels of ``atoms`` with the empirical potential (input frame)."""
    with LammpsCell(atoms, potential, coulomb=coulomb) as cell:
        return cell.labels()
