"""Rule evaluate: metrics per variant, parity plots, test error against q next to the scan."""

import _ionnp_path  # noqa: F401

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from ase.units import GPa

from ionnp.coulomb import read_results
from ionnp.evaluation import empirical_predictions, evaluate_variant, predictions
from ionnp.frames import read_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.runtime import configure_torch
from ionnp.model import NNPotential

log = log_to_file(snakemake.log[0])
configure_torch(snakemake.threads)
out = snakemake.output
frames = read_frames(snakemake.input.dataset)
units = read_results(snakemake.input.coulomb)
test = [k for k, a in enumerate(frames) if a.info["split"] == "test"]
train = [frames[k] for k, a in enumerate(frames) if a.info["split"] == "train"]
test_frames, test_units = [frames[k] for k in test], [units[k] for k in test]

variants = {"empirical potential": empirical_predictions(test_frames, train)}
charges = {}
for path in snakemake.input.models:
    model = NNPotential.load(path)
    name = Path(path).stem
    variants[name] = predictions(model, test_frames, test_units)
    charges[name] = model.charge
tables = [evaluate_variant(name, test_frames, predicted) for name, predicted in variants.items()]
metrics = pd.concat(tables, ignore_index=True)
metrics["q"] = metrics.variant.map(charges)
with atomic_path(out.metrics) as tmp:
    metrics.to_csv(tmp, index=False, float_format="%.6g")
log.info("test-split metrics (%d structures):\n%s", len(test_frames),
         metrics[metrics.group == "all"].to_string())

# Parity: one row per variant (energy per atom relative to the mean, force and stress components).
fig, axes = plt.subplots(len(variants), 3, figsize=(12, 3.2 * len(variants)), layout="constrained",
                         squeeze=False)
n = np.array([len(a) for a in test_frames])
ref_e = np.array([a.get_potential_energy() for a in test_frames]) / n
ref_f = np.concatenate([a.get_forces().ravel() for a in test_frames])
ref_s = np.concatenate([a.get_stress() for a in test_frames]) / GPa
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
with atomic_path(out.parity) as tmp:
    fig.savefig(tmp, dpi=110, format="png")
plt.close(fig)

# Test error of the fine-tuned models against q, on the training-free scan's axis.
scan = pd.read_csv(snakemake.input.scan)
grid = metrics[(metrics.group == "all") & metrics.variant.str.startswith("finetune_q")
               & (metrics.variant != "finetune_qeff")].sort_values("q")
fig, ax = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
ax.plot(grid.q, grid.force_rmse_mev_per_a, "o-", color="C0", label="fine-tuned NNP: test force RMSE")
ax.set_xlabel("effective charge q (e)")
ax.set_ylabel("test force RMSE (meV/Å)", color="C0")
twin = ax.twinx()
twin.plot(scan.q, scan.cv_score, color="C3", label="training-free scan: CV score")
twin.set_ylabel("scan CV score", color="C3")
if "finetune_qeff" in charges:
    ax.axvline(charges["finetune_qeff"], color="C3", ls="--", lw=1, label="q_eff (scan)")
ax.legend(loc="upper left", fontsize=8)
with atomic_path(out.error_vs_q) as tmp:
    fig.savefig(tmp, dpi=130, format="png")
plt.close(fig)
