"""Rule md: NVE energy drift and a compression run with the final model (ionnp.md)."""

import _ionnp_path  # noqa: F401

import json

import ase.io
import matplotlib.pyplot as plt

from ionnp.calculator import IonnpCalculator
from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.runtime import configure_torch
from ionnp.md import compression, lammps_compression, lammps_nve_drift, nve_drift, relax
from ionnp.prototypes import repeat

log = log_to_file(snakemake.log[0])
configure_torch(snakemake.threads)
md, out = snakemake.params.md, snakemake.output
start = repeat(ase.io.read(snakemake.input.start), md["supercell"])
start.calc = IonnpCalculator(snakemake.input.model, spread=False)
relaxed = relax(start)
log.info("relaxed with the model: %s", relaxed)

if md["engine"] == "lammps":
    nve, drift = lammps_nve_drift(start, snakemake.input.model, md["temperature"], md["timestep_fs"],
                                  md["nve_steps"], snakemake.params.seed)
    squeeze = lammps_compression(start, snakemake.input.model, md["compression_temperature"],
                                 md["compression_pressures"], md["steps_per_pressure"], md["timestep_fs"],
                                 snakemake.params.seed)
else:
    atoms = start.copy()
    atoms.calc = IonnpCalculator(snakemake.input.model, spread=False)
    nve, drift = nve_drift(atoms, md["temperature"], md["timestep_fs"], md["nve_steps"], snakemake.params.seed)
    atoms = start.copy()
    atoms.calc = IonnpCalculator(snakemake.input.model, spread=False)
    squeeze = compression(atoms, md["compression_temperature"], md["compression_pressures"],
                          md["steps_per_pressure"], md["timestep_fs"], snakemake.params.seed)
for table, path in ((nve, out.nve), (squeeze, out.compression)):
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
summary = {"nve_drift_mev_per_atom_per_ps": drift, "n_atoms": len(start), "engine": md["engine"], "relaxation": relaxed,
           "nve_mean_temperature_k": float(nve.temperature_k.mean()),
           "final_cv_per_pressure": squeeze.groupby("target_gpa").cv.last().to_dict()}
with atomic_path(out.summary) as tmp:
    tmp.write_text(json.dumps(summary, indent=1))

fig, (ax_nve, ax_cv) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
ax_nve.plot(nve.time_ps, 1000 * (nve.total_ev_per_atom - nve.total_ev_per_atom.iloc[0]))
ax_nve.set_xlabel("time (ps)")
ax_nve.set_ylabel("E_total − E_total(0) (meV/atom)")
ax_nve.set_title(f"NVE at ~{nve.temperature_k.mean():.0f} K: drift {drift:.3f} meV/atom/ps")
ax_cv.plot(squeeze.step, squeeze.cv, label="CN")
ax_cv.set_xlabel("step")
ax_cv.set_ylabel("mean Zn–O coordination")
ax_p = ax_cv.twinx()
ax_p.step(squeeze.step, squeeze.target_gpa, color="gray", where="post")
ax_p.set_ylabel("target pressure (GPa)", color="gray")
ax_cv.set_title("Compression from wurtzite (Berendsen NPT)")
with atomic_path(out.plot) as tmp:
    fig.savefig(tmp, dpi=120, format="png")
plt.close(fig)
log.info("%s", summary)
