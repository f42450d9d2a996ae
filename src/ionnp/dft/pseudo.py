"""Pseudopotentials: the user's files, or PBE ultrasoft ones generated with ld1.x.

Generation follows pslibrary 1.0.0's low-accuracy ultrasoft recipes (A. Dal Corso,
Comput. Mater. Sci. 95, 337 (2014)): Zn 3d¹⁰4s² (``Zn.pbe-dn-rrkjus``, a 4p channel for
transferability) and O 2s²2p⁴ (``O.pbe-nl-rrkjus``), both with non-linear core correction.
ld1.x's own transferability test (a second run, ``iswitch=2``, several configurations) is
written to the log so a user can judge the files. ld1.x's headers suggest ecutwfc ≈ 45 Ry.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ionnp.dft.pw import environment_for

log = logging.getLogger(__name__)

#: ld1.x generation inputs: (all-electron configuration, &inputp body, wavefunction cards).
RECIPES: dict[str, tuple[float, str, str, str]] = {
    "Zn": (30.0, "[Ar] 4s2 4p0.3 3d9.7",
           "lloc=-1, rcloc=1.9, which_augfun='PSQ', rmatch_augfun_nc=.true., nlcc=.true., "
           "new_core_ps=.true., rcore=1.0, tm=.true.",
           """6
4S  1  0  2.00  0.00  1.20  2.20  0.0
4S  1  0  0.00  6.10  1.20  2.20  0.0
4P  2  1  0.30  0.00  1.20  2.20  0.0
4P  2  1  0.00  6.30  1.20  2.20  0.0
3D  3  2  9.70  0.00  1.20  1.70  0.0
3D  3  2  0.00 -0.80  1.20  1.70  0.0"""),
    "O": (8.0, "[He] 2s2 2p4",
          "lloc=-1, rcloc=1.1, which_augfun='PSQ', rmatch_augfun_nc=.true., nlcc=.true., "
          "new_core_ps=.true., rcore=0.7, tm=.true.",
          """4
2S  1  0  2.00  0.00  1.00  1.30  0.0
2S  1  0  0.00  1.00  1.00  1.30  0.0
2P  2  1  4.00  0.00  0.90  1.45  0.0
2P  2  1  0.00  0.05  0.90  1.45  0.0"""),
}

#: Test configurations of ld1.x's transferability check (valence only).
TEST_CONFIGURATIONS = {
    "Zn": ["4s2 4p0 3d10", "4s1 4p1 3d10", "4s1 4p0 3d10"],
    "O": ["2s2 2p4", "2s2 2p3", "2s1 2p5"],
}


def generated_name(element: str) -> str:
    """File name of the generated pseudopotential of ``element``."""
    return {"Zn": "Zn.pbe-dn-rrkjus.UPF", "O": "O.pbe-nl-rrkjus.UPF"}[element]


def _ld1(input_text: str, workdir: Path) -> str:
    result = subprocess.run(["ld1.x"], input=input_text, cwd=workdir, capture_output=True,
                            text=True, env=environment_for("ld1.x"))
    if result.returncode != 0 or "Error" in result.stdout:
        raise RuntimeError(f"ld1.x failed (exit {result.returncode}):\n{result.stdout[-2000:]}{result.stderr}")
    return result.stdout


def generate(element: str, target: str | os.PathLike) -> str:
    """Generate the PBE ultrasoft pseudopotential of ``element`` into ``target``.

    Returns ld1.x's transferability test output (to be logged).

    Raises:
        ValueError: no recipe for ``element``. RuntimeError: ld1.x failed.
    """
    if element not in RECIPES:
        raise ValueError(f"no ld1.x recipe for {element}; give dft.pseudopotentials.{element} "
                         f"and dft.pseudo_dir instead (known: {sorted(RECIPES)})")
    if shutil.which("ld1.x") is None:
        raise RuntimeError("ld1.x not found on PATH: install Quantum ESPRESSO (make setup)")
    zed, config, options, cards = RECIPES[element]
    name = generated_name(element)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        _ld1(f""" &input
   title='{element}', zed={zed}, rel=1, config='{config}', iswitch=3, dft='PBE'
 /
 &inputp
   lpaw=.false., pseudotype=3, file_pseudopw='{name}', author='ionnp', {options}
 /
{cards}
""", workdir)
        tests = TEST_CONFIGURATIONS[element]
        configurations = ", ".join(f"configts({k + 1})='{c}'" for k, c in enumerate(tests))
        report = _ld1(f""" &input
   title='{element}', zed={zed}, rel=1, config='{config}', iswitch=2, dft='PBE'
 /
 &test
   file_pseudo='{name}', nconf={len(tests)}, ecutmin=30, ecutmax=60, decut=10, {configurations}
 /
""", workdir)
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(workdir / name, f"{target}.tmp")
        os.replace(f"{target}.tmp", target)
    return report
