"""The one builder of LAMMPS time-integration fixes (``metal`` units: K, bar, ps), shared by the
sampling driver, the NNP's MD in LAMMPS and the transition ramp."""

from __future__ import annotations

from typing import Literal

from ionnp.lammps.box import GPA_TO_BAR

Ensemble = Literal["nve", "nvt", "npt"]


def integrator(ensemble: Ensemble, temperature_k: float = 300.0, pressure_gpa: float = 0.0, *,
               thermostat_fs: float = 100.0, barostat_fs: float = 1000.0, barostat: str = "tri") -> str:
    """The style and arguments of ``fix ID all ...``: velocity Verlet (``nve``), Nosé–Hoover
    chains at ``temperature_k`` (``nvt``), and the MTK barostat at ``pressure_gpa`` on the
    ``barostat`` degrees of freedom (``npt``: ``iso``, ``aniso`` or ``tri``, the fully flexible
    cell); damping times in fs."""
    if ensemble not in ("nve", "nvt", "npt"):
        raise ValueError(f"ensemble must be 'nve', 'nvt' or 'npt', not {ensemble!r}")
    if barostat not in ("iso", "aniso", "tri"):
        raise ValueError(f"barostat must be 'iso', 'aniso' or 'tri', not {barostat!r}")
    thermostat = f"temp {temperature_k!r} {temperature_k!r} {thermostat_fs / 1000.0!r}"
    p_bar = pressure_gpa * GPA_TO_BAR
    coupling = f"{barostat} {p_bar!r} {p_bar!r} {barostat_fs / 1000.0!r}"
    return {"nve": "nve", "nvt": f"nvt {thermostat}", "npt": f"npt {thermostat} {coupling}"}[ensemble]


__all__ = ["Ensemble", "integrator"]
