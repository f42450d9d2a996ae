"""Rule md: NVE energy drift and a compression run with the final model (ionnp.evaluate.md)."""

import json

import _ionnp_path  # noqa: F401
import ase.io

from ionnp.chemistry import Chemistry
from ionnp.evaluate.md import (
    compression,
    lammps_compression,
    lammps_nve_drift,
    left_the_data,
    nve_drift,
    relax,
)
from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.nnp.calculator import IonnpCalculator
from ionnp.plots import plot_md
from ionnp.runtime import configure_torch
from ionnp.sampling.prototypes import repeat

log = log_to_file(snakemake.log[0])
configure_torch(snakemake.threads)
md, out = snakemake.params.md, snakemake.output
start = repeat(ase.io.read(snakemake.input.start), md["supercell"],
               Chemistry.from_charges(snakemake.params.charges).cation)
start.calc = IonnpCalculator(snakemake.input.model, spread=False)
relaxed = relax(start)
log.info("relaxed with the model: %s", relaxed)
guard = {"max_spread_mev_per_atom": md["max_spread_mev_per_atom"]}
cv_r0 = snakemake.params.cv_r0

if md["engine"] == "lammps":
    nve, drift = lammps_nve_drift(start, snakemake.input.model, md["temperature"], md["timestep_fs"],
                                  md["nve_steps"], snakemake.params.seed, **guard)
    squeeze = lammps_compression(start, snakemake.input.model, md["compression_temperature"],
                                 md["compression_pressures"], md["steps_per_pressure"], md["timestep_fs"],
                                 snakemake.params.seed, cv_r0=cv_r0, **guard)
else:
    atoms = start.copy()
    atoms.calc = IonnpCalculator(snakemake.input.model, spread=False)
    nve, drift = nve_drift(atoms, md["temperature"], md["timestep_fs"], md["nve_steps"], snakemake.params.seed,
                           **guard)
    atoms = start.copy()
    atoms.calc = IonnpCalculator(snakemake.input.model, spread=False)
    squeeze = compression(atoms, md["compression_temperature"], md["compression_pressures"],
                          md["steps_per_pressure"], md["timestep_fs"], snakemake.params.seed, cv_r0=cv_r0, **guard)
for table, path in ((nve, out.nve), (squeeze, out.compression)):
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
summary = {"nve_drift_mev_per_atom_per_ps": drift, "n_atoms": len(start), "engine": md["engine"], "relaxation": relaxed,
           "nve_mean_temperature_k": float(nve.temperature_k.mean()),
           "nve_steps_run": int(nve.step.iloc[-1]), "nve_max_spread_mev_per_atom": float(nve.spread_mev_per_atom.max()),
           "nve_left_the_data": left_the_data(nve, md["max_spread_mev_per_atom"]),
           "compression_left_the_data": left_the_data(squeeze, md["max_spread_mev_per_atom"]),
           "final_cv_per_pressure": squeeze.groupby("target_gpa").cv.last().to_dict()}
with atomic_path(out.summary) as tmp:
    tmp.write_text(json.dumps(summary, indent=1))

plot_md(nve, squeeze, drift, md["max_spread_mev_per_atom"], out.plot)
log.info("%s", summary)
