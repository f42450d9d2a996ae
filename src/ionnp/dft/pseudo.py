"""Pseudopotentials: the user's files, or PBE ultrasoft ones generated with ld1.x.

The recipes are data, in ``ld1_recipes.yaml`` next to this module (shipped with the package),
one per element: :func:`recipe_elements` lists them. Each copies a pslibrary 1.0.0 input
(A. Dal Corso, Comput. Mater. Sci. 95, 337 (2014); https://github.com/dalcorso/pslibrary):
the scalar-relativistic PBE ultrasoft (``pseudotype=3``, RRKJ-US) generation input of
``us_ps_low.job`` (the low-accuracy sets) where pslibrary has one for the element, else of
``us_ps_high.job``, and the transferability test of the matching ``us_ps_test_*.job``. Only the
title, author and file name differ; the file name is pslibrary's without ``_psl.1.0.0`` (e.g.
``Zn.pbe-dn-rrkjus.UPF``, following ``Zn.pbe-dn-rrkjus_psl.1.0.0.UPF``).

:func:`generate` runs ld1.x twice: the generation (``iswitch=3``), then ld1.x's own
transferability test (``iswitch=2``, frozen core, as pslibrary runs it): the all-electron and
pseudo atom in several configurations (total-energy differences and eigenvalues side by side)
and a Bessel-function basis at 30–60 Ry. Its output is returned for the log, so a user can
judge the file. The headers' suggested minimum cut-offs range from 39 Ry (S) to 66 Ry (Na, with
its 2s2p semicore): ``dft.ecutwfc`` must cover the largest of a campaign's elements.

Each recipe also names a simple crystal with its all-electron PBE lattice constant;
``benchmarks/pseudopotentials.py`` checks the files against it with pw.x.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from ionnp.dft.pw import environment_for

log = logging.getLogger(__name__)

#: The recipes (package data).
RECIPES_PATH = Path(__file__).resolve().parent / "ld1_recipes.yaml"


@functools.cache
def recipes() -> dict[str, dict[str, Any]]:
    """Every element's recipe, as in ``ld1_recipes.yaml``."""
    return yaml.safe_load(RECIPES_PATH.read_text(encoding="utf-8"))


def recipe_elements() -> list[str]:
    """The elements ld1.x can generate a pseudopotential for (sorted)."""
    return sorted(recipes())


def _recipe(element: str) -> dict[str, Any]:
    if element not in recipes():
        raise ValueError(f"no ld1.x recipe for {element}; give dft.pseudopotentials.{element} "
                         f"and dft.pseudo_dir instead (known: {recipe_elements()})")
    return recipes()[element]


def generated_name(element: str) -> str:
    """File name of the generated pseudopotential of ``element``."""
    return _recipe(element)["file"]


def _fortran(value: Any) -> str:
    """A namelist value as ld1.x reads it."""
    if isinstance(value, bool):
        return ".true." if value else ".false."
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)


def generation_input(element: str) -> str:
    """ld1.x input that generates ``element``'s pseudopotential into :func:`generated_name`."""
    recipe = _recipe(element)
    options = ", ".join(f"{key}={_fortran(value)}" for key, value in recipe["inputp"].items())
    cards = "\n".join([str(len(recipe["wavefunctions"])), *recipe["wavefunctions"]])
    return f""" &input
   title='{element}', zed={recipe['zed']}, rel=1, config='{recipe['config']}', iswitch=3, dft='PBE'
 /
 &inputp
   lpaw=.false., pseudotype=3, file_pseudopw='{generated_name(element)}', author='ionnp', {options}
 /
{cards}
"""


def transferability_input(element: str) -> str:
    """ld1.x input of the transferability test of :func:`generated_name` (in the same folder)."""
    recipe = _recipe(element)
    tests = recipe["test"]["configurations"]
    configurations = ", ".join(f"configts({k + 1})='{c}'" for k, c in enumerate(tests))
    return f""" &input
   title='{element}', zed={recipe['zed']}, rel=1, config='{recipe['test']['config']}', iswitch=2, dft='PBE'
 /
 &test
   file_pseudo='{generated_name(element)}', nconf={len(tests)}, frozen_core=.true.,
   ecutmin=30, ecutmax=60, decut=10, {configurations}
 /
"""


def _ld1(input_text: str, workdir: Path) -> str:
    result = subprocess.run(["ld1.x"], input=input_text, cwd=workdir, capture_output=True,
                            text=True, env=environment_for("ld1.x"), check=False)
    if result.returncode != 0 or "Error" in result.stdout:
        raise RuntimeError(f"ld1.x failed (exit {result.returncode}):\n{result.stdout[-2000:]}{result.stderr}")
    return result.stdout


def generate(element: str, target: str | os.PathLike) -> str:
    """Generate the PBE ultrasoft pseudopotential of ``element`` into ``target``.

    Returns ld1.x's transferability test output (to be logged).

    Raises:
        ValueError: no recipe for ``element``. RuntimeError: ld1.x failed.
    """
    _recipe(element)
    if shutil.which("ld1.x") is None:
        raise RuntimeError("ld1.x not found on PATH: install Quantum ESPRESSO (make setup)")
    name = generated_name(element)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        _ld1(generation_input(element), workdir)
        report = _ld1(transferability_input(element), workdir)
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(workdir / name, f"{target}.tmp")
        os.replace(f"{target}.tmp", target)
    return report
