"""The LAMMPS input lines that run a deployed model with ``pair_style ionnp``.

    plugin load <venv>/lib/ionnp/ionnp.so
    pair_style hybrid/overlay ionnp zno.pt coul/long 10.0
    pair_coeff * * ionnp Zn O
    pair_coeff * * coul/long
    kspace_style pppm 1e-05
    set type 1 charge 0.9537098...
    set type 2 charge -0.9537098...

The short-range ensemble is the plugin's; the Coulomb term q² E_C(1) is LAMMPS's ``coul/long``
with a k-space solver at the charges q_s = q z_s/z_ref of the model's metadata (atom style
``charge``). Atom types are the model's elements in order unless ``types`` says otherwise.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ionnp.deploy.export import read_metadata

#: Where set-up installs the plugin (scripts/build_plugin.sh): <venv>/lib/ionnp/ionnp.so.
PLUGIN_NAME = "ionnp.so"


def plugin_path() -> Path:
    """The installed ``pair_style ionnp`` plugin ($IONNP_PLUGIN, else <venv>/lib/ionnp/ionnp.so).

    Raises:
        FileNotFoundError: naming the path and how to build it.
    """
    path = Path(os.environ.get("IONNP_PLUGIN") or Path(sys.prefix) / "lib" / "ionnp" / PLUGIN_NAME)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the pair_style ionnp plugin is not built; run `make plugin` "
                                f"(needs g++ and cmake) or set IONNP_PLUGIN")
    return path


def input_lines(model: str | os.PathLike, *, types: Sequence[str] | None = None,
                coulomb_cutoff: float = 10.0, kspace: str = "pppm 1e-5", device: str = "cpu",
                plugin: str | os.PathLike | None = None, modify: Sequence[str] = ()) -> list[str]:
    """The lines that load the plugin and set up the potential of a deployed file ``model``.

    Args:
        types: the element of each atom type (default: the model's elements in order).
        coulomb_cutoff: real-space cut-off of ``coul/long`` (Å).
        kspace: the ``kspace_style`` arguments (``ewald 1e-10`` for reference numbers).
        device: ``cpu`` or ``cuda`` (the plugin's libtorch must have CUDA).
        plugin: the plugin file (default :func:`plugin_path`).
        modify: ``pair_modify``/``kspace_modify`` lines placed after ``kspace_style`` (with a
            Coulomb term only).
    """
    meta = read_metadata(model)
    types = list(meta["elements"] if types is None else types)
    unknown = sorted(set(types) - set(meta["elements"]))
    if unknown:
        raise ValueError(f"types {types}: {unknown} not among {model}'s elements {meta['elements']}")
    device_option = "" if device == "cpu" else f" device {device}"
    lines = [f"plugin load {Path(plugin) if plugin is not None else plugin_path()}"]
    if meta["charge"] == 0.0:
        lines += [f"pair_style ionnp {model}{device_option}", f"pair_coeff * * {' '.join(types)}"]
        return lines
    lines += [
        f"pair_style hybrid/overlay ionnp {model}{device_option} coul/long {coulomb_cutoff}",
        f"pair_coeff * * ionnp {' '.join(types)}",
        "pair_coeff * * coul/long",
        f"kspace_style {kspace}",
        *modify,
    ]
    charges = meta["coulomb_charges"]
    lines += [f"set type {t} charge {charges[e]!r}" for t, e in enumerate(types, start=1)]  # all digits
    return lines


__all__ = ["PLUGIN_NAME", "input_lines", "plugin_path"]
