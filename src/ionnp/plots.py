"""Figures of the campaign, written as PNG (matplotlib's Agg backend: no display needed)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ionnp.io import atomic_path  # noqa: E402


def plot_enthalpy(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Enthalpy per formula unit relative to the lowest phase, against pressure.

    ``table`` is :func:`ionnp.prototypes.polymorphs.enthalpy_table`'s output.
    """
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    for phase, rows in table.groupby("phase", sort=False):
        ax.plot(rows["pressure_gpa"], rows["delta_h_mev"], "o-", label=phase)
    ax.set_xlabel("pressure (GPa)")
    ax.set_ylabel("H − H_lowest (meV / f.u.)")
    ax.set_title("Empirical potential: relaxed polymorphs")
    ax.legend()
    ax.grid(alpha=0.3)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=150, format="png")
    plt.close(fig)


def plot_sampling_run(trace: pd.DataFrame, cv_grid, free_energy, path: str | os.PathLike,
                      title: str) -> None:
    """CV trace against time and the well-tempered free-energy estimate F(CN).

    Args:
        trace: :class:`ionnp.sampling.driver.RunResult` trace (time_ps, cv, volume).
        cv_grid, free_energy: F(s) (eV) on a grid of CN values.
        path: PNG to write.
        title: the run's name.
    """
    fig, (ax_trace, ax_free) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    ax_trace.plot(trace["time_ps"], trace["cv"], lw=1)
    ax_trace.set_xlabel("time (ps)")
    ax_trace.set_ylabel("mean cation–anion coordination")
    ax_volume = ax_trace.twinx()
    ax_volume.plot(trace["time_ps"], trace["volume"], color="tab:gray", lw=0.8, alpha=0.6)
    ax_volume.set_ylabel("volume (Å³)", color="tab:gray")
    ax_free.plot(cv_grid, free_energy, color="tab:red")
    ax_free.set_xlabel("mean cation–anion coordination")
    ax_free.set_ylabel("F (eV), well-tempered estimate")
    fig.suptitle(title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def plot_pool(index: pd.DataFrame, path: str | os.PathLike) -> None:
    """CV against volume per formula unit of every pool frame, coloured by starting phase."""
    fig, ax = plt.subplots(figsize=(6, 4.5), layout="constrained")
    for phase, rows in index.groupby("phase"):
        ax.scatter(rows["volume_per_fu"], rows["cv"], s=6, alpha=0.6, label=phase)
    ax.set_xlabel("volume (Å³ / f.u.)")
    ax.set_ylabel("mean cation–anion coordination")
    ax.set_title(f"Sampling pool: {len(index)} frames")
    ax.legend(markerscale=3)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=150, format="png")
    plt.close(fig)


def plot_distillation_map(features: np.ndarray, phases: Sequence[str], pretrain: np.ndarray,
                          dft: np.ndarray, path: str | os.PathLike) -> None:
    """2-D PCA of the standardised pool features, coloured by phase, picks marked."""
    centred = features - features.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ components[:2].T
    fig, ax = plt.subplots(figsize=(6.5, 5), layout="constrained")
    phases = np.asarray(phases)
    for phase in sorted(set(phases)):
        mask = phases == phase
        ax.scatter(xy[mask, 0], xy[mask, 1], s=5, alpha=0.35, label=phase)
    ax.scatter(xy[pretrain, 0], xy[pretrain, 1], s=12, facecolors="none", edgecolors="k",
               linewidths=0.5, label="pretraining set")
    ax.scatter(xy[dft, 0], xy[dft, 1], s=40, marker="*", color="crimson", label="DFT set")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title("Pool in descriptor space (PCA)")
    ax.legend(markerscale=2, fontsize=8)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=150, format="png")
    plt.close(fig)


def plot_coverage(pretrain_distances: np.ndarray, dft_distances: np.ndarray,
                  path: str | os.PathLike) -> None:
    """Max–min distance after each FPS pick (lower = the pool is covered more finely)."""
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    ax.plot(np.arange(1, len(pretrain_distances)), pretrain_distances[1:], label="pretraining set (from pool)")
    ax.plot(np.arange(1, len(dft_distances)), dft_distances[1:], "o-", ms=3, label="DFT set (from pretraining set)")
    ax.set_xscale("log")
    ax.set_xlabel("structures picked")
    ax.set_ylabel("max–min distance (standardised features)")
    ax.set_title("FPS coverage")
    ax.legend()
    ax.grid(alpha=0.3)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=150, format="png")
    plt.close(fig)


def plot_active_curve(active: pd.DataFrame, baseline: pd.DataFrame | None,
                      path: str | os.PathLike) -> None:
    """Whole-pool energy and force RMSEs against the DFT set size: the active rounds and, if
    measured, stratified FPS at the same sizes (tables of :mod:`ionnp.distill.active`)."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), layout="constrained")
    for ax, column, label in zip(axes, ("energy_rmse_mev_atom", "forces_rmse_mev_a"),
                                 ("energy RMSE (meV/atom)", "force RMSE (meV/Å)")):
        ax.plot(active.n_selected, active[column], "o-", label="active (worst predicted first)")
        if baseline is not None:
            ax.plot(baseline.n_selected, baseline[column], "s--", label="stratified FPS")
        ax.set_xlabel("structures selected")
        ax.set_ylabel(f"whole-pool {label}")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle("Active distillation: learning curves on the empirical labels of the pretraining set")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=150, format="png")
    plt.close(fig)


def plot_lt(table: pd.DataFrame, result: dict, settings, path: str | os.PathLike) -> None:
    """L/T energy ratio r against 1/λ² at each k spacing, the quadratic fits and q² ± σ.

    Args:
        table: :func:`ionnp.charges.modulation.ratio_table` output.
        result: :func:`ionnp.charges.modulation.estimate` output.
        settings: the :class:`ionnp.charges.modulation.ModulationSettings` used.
    """
    fig, ax = plt.subplots(figsize=(6.5, 4.5), layout="constrained")
    x_max = 0.0
    for k, (kspacing, rows) in enumerate(table.groupby("kspacing")):
        main = rows[np.isclose(rows["amplitude"], settings.amplitude)]
        x = 1 / main["wavelength"] ** 2
        x_max = max(x_max, float(x.max()))
        ax.plot(x, main["ratio"], "o", color=f"C{k}", label=f"k spacing {kspacing:g} Å⁻¹, u₀ = {settings.amplitude} Å")
        fit = result["per_kspacing"][f"{kspacing:g}"]
        grid = np.linspace(0, x.max() * 1.05, 50)
        ax.plot(grid, fit["q2"] + fit["slope"] * grid + fit["curvature"] * grid**2, "-", color=f"C{k}", lw=1)
        second = rows[~np.isclose(rows["amplitude"], settings.amplitude)]
        ax.plot(1 / second["wavelength"] ** 2, second["ratio"], "x", color=f"C{k}", ms=8,
                label=f"u₀ = {settings.harmonic_amplitude} Å (harmonicity)")
    ax.errorbar([0], [result["q2"]], yerr=[result["q2_error"]], fmt="s", color="crimson", capsize=4,
                label=f"q² → q = {result['q']:.3f} ± {result['q_error']:.3f} e")
    ax.set_xlim(-0.02 * x_max, 1.1 * x_max)
    ax.set_xlabel("1/λ² (Å⁻²)")
    ax.set_ylabel("[E(L) − E(T)] / [E_C(1)(L) − E_C(1)(T)]  (e²)")
    ax.set_title("Frozen polar modulations: DFT against unit point charges")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, format="png")
    plt.close(fig)


def plot_lt_models(table: pd.DataFrame, amplitude: float, q_lt: tuple[float, float],
                   path: str | os.PathLike) -> None:
    """Models' L − T energy error against their q, and model against DFT.

    Args:
        table: :func:`ionnp.evaluate.modulations.model_lt_table` output.
        amplitude: the modulations' u₀ (Å); rows at other amplitudes are left out.
        q_lt: q_L/T and its uncertainty (e), drawn as a band.
    """
    rows = table[np.isclose(table.amplitude, amplitude)]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    grid = rows[rows.variant.str.startswith("finetune_q") & (rows.variant != "finetune_qeff")]
    for k, (wavelength, column) in enumerate(grid.groupby("wavelength")):
        column = column.sort_values("q")
        left.plot(column.q, column.error_mev, "o-", color=f"C{k}", label=f"λ = {wavelength:.1f} Å")
    left.axhline(0.0, color="k", lw=0.8)
    left.axvspan(q_lt[0] - q_lt[1], q_lt[0] + q_lt[1], color="C2", alpha=0.25,
                 label=f"q_L/T = {q_lt[0]:.3f} e")
    left.set_xlabel("model charge q (e)")
    left.set_ylabel("E(L) − E(T): model − DFT (meV per cell)")
    left.legend(fontsize=8)
    left.grid(alpha=0.3)
    for k, (variant, model) in enumerate(rows.groupby("variant")):
        right.plot(model.de_dft_mev, model.de_model_mev, "o", color=f"C{k}",
                   label=f"{variant} (q = {model.q.iloc[0]:.2f})")
    limits = [0.0, float(max(rows.de_dft_mev.max(), rows.de_model_mev.max())) * 1.05]
    right.plot(limits, limits, "k--", lw=0.8)
    right.set_xlabel("DFT E(L) − E(T) (meV per cell)")
    right.set_ylabel("model E(L) − E(T) (meV per cell)")
    right.legend(fontsize=7)
    right.grid(alpha=0.3)
    fig.suptitle("Frozen polar modulations: held-out L − T energies")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, format="png")
    plt.close(fig)


def plot_transition(traces: dict[str, pd.DataFrame], table: pd.DataFrame, ground_state: str,
                    high_pressure: str, cv_high: float, dft_gpa: float | None,
                    path: str | os.PathLike) -> None:
    """CV and volume per formula unit against pressure along each ramp (up solid, down dashed),
    with the high-pressure phase's CV and the DFT EOS transition pressure marked.

    Args:
        traces: potential name → :func:`ionnp.evaluate.transition.nnp_ramp` trace.
        table: :func:`ionnp.evaluate.transition.transition_table` output.
    """
    fig, (cv_ax, volume_ax) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    found = table.set_index("potential")
    for k, (name, trace) in enumerate(traces.items()):
        top = trace.target_gpa.idxmax()
        up, down = trace.loc[:top], trace.loc[top:]
        for part, style, direction in ((up, "-", "up"), (down, "--", "down")):
            label = f"{name} {direction}"
            forward = found.loc[name, "forward_gpa"]
            if direction == "up":
                label += f" (→ {high_pressure} at {forward:g} GPa)" if pd.notna(forward) else " (untransformed)"
            cv_ax.plot(part.pressure_gpa, part.cv, style, color=f"C{k}", lw=0.8, label=label)
            volume_ax.plot(part.pressure_gpa, part.volume_per_fu, style, color=f"C{k}", lw=0.8)
    cv_ax.axhline(cv_high, color="gray", lw=0.8, ls=":", label=f"{high_pressure} CV {cv_high:.2f}")
    for ax in (cv_ax, volume_ax):
        if dft_gpa is not None:
            ax.axvline(dft_gpa, color="k", ls="--", lw=1, label=f"DFT EOS {dft_gpa:.1f} GPa")
        ax.set_xlabel("pressure (GPa)")
        ax.grid(alpha=0.3)
    cv_ax.set_ylabel("coordination number CV")
    volume_ax.set_ylabel("volume (Å³ per formula unit)")
    cv_ax.legend(fontsize=8)
    fig.suptitle(f"{ground_state} → {high_pressure} under an NPT pressure ramp (LAMMPS)")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, format="png")
    plt.close(fig)


def plot_charge_scan(table: pd.DataFrame, q_eff: float, markers: dict[str, float],
                     path: str | os.PathLike, bands: dict[str, tuple[float, float]]) -> None:
    """Every charge-scan metric against q, with q_eff, the other estimators and literature
    charges.

    Args:
        table: :func:`ionnp.charges.scan.charge_scan` output.
        q_eff: the chosen charge (e).
        markers: label → charge (e), e.g. {"2/ε∞": 0.54, "2/√ε∞": 1.04, "Bader": 1.2}.
        bands: label → (charge, low, high) (e) of the estimators, drawn as bands over their
            intervals (NaN ends, not assessed, as a line).
    """
    panels = [("cv_energy_mev_per_atom", "CV energy RMSE (meV/atom)"),
              ("cv_force_mev_per_a", "CV force RMSE (meV/Å)"),
              ("cv_stress_gpa", "CV stress RMSE (GPa)"),
              ("cv_score", "combined CV score"),
              ("raw_energy_mev_per_atom", "raw residual energy RMSE (meV/atom)"),
              ("spread_mev_per_atom", "polymorph spread (meV/atom)")]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7), layout="constrained", sharex=True)
    for ax, (column, label) in zip(axes.flat, panels):
        ax.plot(table["q"], table[column], "o-", ms=3)
        ax.set_ylabel(label)
        ax.axvline(q_eff, color="crimson", lw=1.5, label=f"q_eff = {q_eff:.3f} e")
        for k, (name, (value, low, high)) in enumerate(bands.items()):
            if np.isfinite(low) and np.isfinite(high):
                ax.axvspan(low, high, color=f"C{k + 2}", alpha=0.3,
                           label=f"{name} = {value:.3f} e ({low:.3f}–{high:.3f})")
            else:
                ax.axvline(value, color=f"C{k + 2}", lw=2, alpha=0.6,
                           label=f"{name} = {value:.3f} e (uncertainty not assessed)")
        for (name, value), style in zip(markers.items(), (":", "--", "-.", (0, (1, 3)))):
            ax.axvline(value, color="gray", ls=style, lw=1, label=f"{name} = {value:.2f} e")
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("effective charge q (e)")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Training-free charge scan: residual y_DFT − q² y_C(1)")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, format="png")
    plt.close(fig)


def plot_learning_curves(histories: Sequence[pd.DataFrame], path: str | os.PathLike, title: str) -> None:
    """Train and validation RMSEs per epoch of each ensemble member (energy, forces, stress)."""
    panels = [("energy", "meV/atom"), ("forces", "meV/Å"), ("stress", "GPa")]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
    for ax, (key, unit) in zip(axes, panels):
        for k, history in enumerate(histories):
            for split, style in (("train", "-"), ("valid", "--")):
                column = next((c for c in history.columns if c.startswith(f"{split}_{key}")), None)
                if column is not None:
                    ax.plot(history["epoch"], history[column], style, color=f"C{k}", lw=1,
                            label=f"member {k} {split}" if key == "energy" else None)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"{key} RMSE ({unit})")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def plot_parity(frames: Sequence, variants: dict[str, tuple], path: str | os.PathLike) -> None:
    """Parity against DFT, one row per variant: energy per atom (relative to the DFT mean),
    force components (eV/Å) and stress components (GPa) of the test ``frames``.

    Args:
        frames: DFT-labelled structures.
        variants: name → (energies (eV), forces [(N, 3)], stresses [(6,)]) per structure.
    """
    from ase.units import GPa

    fig, axes = plt.subplots(len(variants), 3, figsize=(12, 3.2 * len(variants)), layout="constrained",
                             squeeze=False)
    n = np.array([len(a) for a in frames])
    ref_e = np.array([a.get_potential_energy() for a in frames]) / n
    ref_f = np.concatenate([a.get_forces().ravel() for a in frames])
    ref_s = np.concatenate([a.get_stress() for a in frames]) / GPa
    for row, (name, (e, f, s)) in zip(axes, variants.items()):
        pairs = [(ref_e - ref_e.mean(), np.array(e) / n - ref_e.mean(), "E − ⟨E_DFT⟩ (eV/atom)"),
                 (ref_f, np.concatenate([x.ravel() for x in f]), "force (eV/Å)"),
                 (ref_s, np.concatenate(s) / GPa, "stress (GPa)")]
        for ax, (x, y, label) in zip(row, pairs):
            ax.scatter(x, y, s=8, alpha=0.7)
            low, high = min(x.min(), y.min()), max(x.max(), y.max())
            ax.plot([low, high], [low, high], "k--", lw=0.8)
            ax.set_xlabel(f"DFT {label}")
            ax.set_ylabel(name)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def plot_error_vs_q(grid: pd.DataFrame, scan: pd.DataFrame, q_eff: float | None,
                    path: str | os.PathLike) -> None:
    """Test force RMSE of the models fine-tuned at each q (``grid``: columns q,
    force_rmse_mev_per_a and its bootstrap interval force_rmse_mev_per_a_low, _high) beside the
    training-free scan's CV score, the chosen q_eff (whichever estimator picked it) marked."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
    rmse = grid.force_rmse_mev_per_a
    ax.errorbar(grid.q, rmse, yerr=[rmse - grid.force_rmse_mev_per_a_low, grid.force_rmse_mev_per_a_high - rmse],
                fmt="o-", capsize=3, color="C0", label="fine-tuned NNP: test force RMSE (95 % bootstrap)")
    ax.set_xlabel("effective charge q (e)")
    ax.set_ylabel("test force RMSE (meV/Å)", color="C0")
    twin = ax.twinx()
    twin.plot(scan.q, scan.cv_score, color="C3", label="training-free scan: CV score")
    twin.set_ylabel("scan CV score", color="C3")
    if q_eff is not None:
        ax.axvline(q_eff, color="k", ls="--", lw=1, label=f"q_eff = {q_eff:.3f} e (charges.method)")
    handles = [h for a in (ax, twin) for h in a.get_legend_handles_labels()[0]]
    ax.legend(handles=handles, loc="upper left", fontsize=8)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, format="png")
    plt.close(fig)


def plot_eos(points: pd.DataFrame, fits: dict, reference: str, max_pressure_gpa: float,
             path: str | os.PathLike) -> None:
    """Equations of state and enthalpies, one column per method.

    Top: E(V) per formula unit relative to the reference phase's minimum (points computed,
    lines the Birch–Murnaghan fits). Bottom: H(P) − H_reference(P).

    Args:
        points: columns method, phase, volume_a3, energy_ev (per formula unit).
        fits: :func:`ionnp.evaluate.eos.fits_of` of those points.
    """
    from ase.units import GPa

    methods = list(dict.fromkeys(points.method))
    fig, axes = plt.subplots(2, len(methods), figsize=(4.2 * len(methods), 7), squeeze=False,
                             layout="constrained")
    pressures = np.linspace(0, max_pressure_gpa, 121)
    for column, method in enumerate(methods):
        zero = fits[method, reference].e0
        top, bottom = axes[0, column], axes[1, column]
        for k, (phase, rows) in enumerate(points[points.method == method].groupby("phase", sort=False)):
            color = f"C{k}"
            fit = fits[method, phase]
            volumes = np.linspace(rows.volume_a3.min() * 0.97, rows.volume_a3.max() * 1.03, 100)
            top.plot(rows.volume_a3, 1000 * (rows.energy_ev - zero), "o", color=color)
            top.plot(volumes, 1000 * (fit.energy(volumes) - zero), "-", color=color, label=phase)
            difference = []
            for p in pressures:
                try:
                    difference.append(fit.enthalpy(p * GPa) - fits[method, reference].enthalpy(p * GPa))
                except ValueError:
                    difference.append(np.nan)
            bottom.plot(pressures, 1000 * np.array(difference), color=color, label=phase)
        top.set_title(method)
        top.set_xlabel("volume (Å³ / f.u.)")
        top.set_ylabel(f"E − E0({reference}) (meV / f.u.)")
        bottom.axhline(0, color="grey", lw=0.8)
        bottom.set_xlabel("pressure (GPa)")
        bottom.set_ylabel(f"H − H({reference}) (meV / f.u.)")
        for ax in (top, bottom):
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=150, format="png")
    plt.close(fig)


def plot_md(nve: pd.DataFrame, compression: pd.DataFrame, drift: float, max_spread: float | None,
            path: str | os.PathLike) -> None:
    """NVE total energy against time, the compression's CN against step (with the target
    pressure), and the ensemble energy spread of both runs (meV/atom) with the stop threshold."""
    fig, (ax_nve, ax_cv, ax_spread) = plt.subplots(1, 3, figsize=(15, 4), layout="constrained")
    ax_nve.plot(nve.time_ps, 1000 * (nve.total_ev_per_atom - nve.total_ev_per_atom.iloc[0]))
    ax_nve.set_xlabel("time (ps)")
    ax_nve.set_ylabel("E_total − E_total(0) (meV/atom)")
    ax_nve.set_title(f"NVE at ~{nve.temperature_k.mean():.0f} K: drift {drift:.3f} meV/atom/ps")
    ax_cv.plot(compression.step, compression.cv, label="CN")
    ax_cv.set_xlabel("step")
    ax_cv.set_ylabel("mean cation–anion coordination")
    ax_p = ax_cv.twinx()
    ax_p.step(compression.step, compression.target_gpa, color="gray", where="post")
    ax_p.set_ylabel("target pressure (GPa)", color="gray")
    ax_cv.set_title("Compression from the ground state")
    ax_spread.plot(nve.step, nve.spread_mev_per_atom, label="NVE")
    ax_spread.plot(compression.step, compression.spread_mev_per_atom, label="compression")
    if max_spread is not None:
        ax_spread.axhline(max_spread, color="red", ls="--", label="stop threshold")
    ax_spread.set_xlabel("step")
    ax_spread.set_ylabel("ensemble energy spread (meV/atom)")
    ax_spread.set_title("Ensemble spread along the runs")
    ax_spread.legend()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def plot_stress_strain(curves: pd.DataFrame, path: str | os.PathLike) -> None:
    """Stress along each loading path (GPa) against strain, one panel per phase and path: DFT as
    markers, every variant as a line (rows of :func:`ionnp.evaluate.loading.stress_strain_table`)."""
    panels = list(curves.groupby(["phase", "path"], sort=False))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8), layout="constrained",
                             squeeze=False)
    for ax, ((phase, name), panel) in zip(axes[0], panels):
        for variant, rows in panel.groupby("variant", sort=False):
            rows = rows.sort_values("strain")
            if variant == "DFT":
                ax.plot(rows.strain, rows.stress_gpa, "ko", label="DFT", zorder=3)
            else:
                ax.plot(rows.strain, rows.stress_gpa, "-", marker=".", label=variant, alpha=0.8)
        ax.set_title(f"{phase}, {name}")
        ax.set_xlabel("strain")
        ax.set_ylabel("stress along the path (GPa)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def plot_calibration(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Ensemble spread against true error per structure, energy (meV/atom) and forces (meV/Å),
    one row per ``model``, the test split and the loading cells in colours (rows of
    :func:`ionnp.evaluate.loading.spread_and_error` with ``model`` and ``set`` columns)."""
    models = list(dict.fromkeys(table.model))
    fig, axes = plt.subplots(len(models), 2, figsize=(10, 4.2 * len(models)), layout="constrained", squeeze=False)
    for row, model in zip(axes, models):
        rows_of_model = table[table.model == model]
        for ax, (quantity, unit) in zip(row, [("energy", "meV/atom"), ("force", "meV/Å")]):
            suffix = "atom" if quantity == "energy" else "a"
            for name, rows in rows_of_model.groupby("set", sort=False):
                ax.scatter(rows[f"{quantity}_spread_mev_per_{suffix}"], rows[f"{quantity}_error_mev_per_{suffix}"],
                           s=14, alpha=0.7, label=name)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(f"ensemble {quantity} spread ({unit})")
            ax.set_ylabel(f"{quantity} error against DFT ({unit})")
            ax.set_title(model)
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=8)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def plot_rounds(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Refinement rounds (rows of :func:`ionnp.refine.report.rounds_table`): the fraction of
    explored snapshots above the lower trust level, and the test-split energy RMSE and unseen
    energy and force MAEs of each round's model (round 0: the one-shot model) against the DFT
    structures the rounds added."""
    fig, (ax_frac, ax_energy, ax_force) = plt.subplots(1, 3, figsize=(14, 4), layout="constrained")
    explored = table[table["round"] > 0]
    if "fraction_above_low" in explored:
        ax_frac.plot(explored["round"], 100 * explored.fraction_above_low, "o-")
    ax_frac.set_xlabel("round")
    ax_frac.set_ylabel("explored snapshots above the lower trust level (%)")
    for ax, columns, unit in ((ax_energy, ("test_energy_rmse_mev_per_atom", "unseen_energy_mae_mev_per_atom"), "meV/atom"),
                              (ax_force, ("test_force_rmse_mev_per_a", "unseen_force_mae_mev_per_a"), "meV/Å")):
        for column in columns:
            if column in table:
                ax.plot(table.dft_structures_added, table[column], "o-", label=column.replace("_", " "))
        ax.set_xlabel("DFT structures added by the rounds")
        ax.set_ylabel(unit)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
