"""Figures of the campaign, written as PNG (matplotlib's Agg backend: no display needed)."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from ionnp.io import atomic_path  # noqa: E402


def plot_enthalpy(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Enthalpy per formula unit relative to the lowest phase, against pressure.

    ``table`` is :func:`ionnp.prototypes.enthalpy_table`'s output.
    """
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    for phase, rows in table.groupby("phase", sort=False):
        ax.plot(rows["pressure_gpa"], rows["delta_h_mev"], "o-", label=phase)
    ax.set_xlabel("pressure (GPa)")
    ax.set_ylabel("H − H_lowest (meV / ZnO)")
    ax.set_title("Empirical potential: relaxed polymorphs")
    ax.legend()
    ax.grid(alpha=0.3)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=150, format="png")
    plt.close(fig)
