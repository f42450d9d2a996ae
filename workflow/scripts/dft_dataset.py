"""Rule dft_dataset: converged structures of all shards (and the equation-of-state cells),
failures listed, splits assigned, the Pulay stress of rule dft_stress_check removed from the
stress labels (ionnp.dft.dataset)."""

import json

import _ionnp_path  # noqa: F401
import pandas as pd

from ionnp.dft.dataset import eos_frames_for_training, remove_pulay_stress, stratified_split
from ionnp.dft.pw import check_failures
from ionnp.frames import iter_frames, write_frames
from ionnp.io import atomic_path, write_extxyz
from ionnp.logs import log_to_file
from ionnp.potential import RigidIonPotential

log = log_to_file(snakemake.log[0])
out, inputs, params = snakemake.output, snakemake.input, snakemake.params
statuses = [json.loads(open(path).read()) for path in [*inputs.status, *inputs.eos_status]]
failed = check_failures(statuses, params.max_failed_fraction)
with atomic_path(out.failed) as tmp:
    pd.DataFrame(failed, columns=["structure_id", "status", "reason", "attempts", "wall_time_s"]).to_csv(tmp, index=False)
sampled = [atoms for path in inputs.frames for atoms in iter_frames(path)]
strata = [(a.info["phase"], a.info["run_pressure_gpa"]) for a in sampled]
for atoms, split in zip(sampled, stratified_split(strata, params.split, params.seed)):
    atoms.info.update(split=split, source="sampling")
eos = eos_frames_for_training([a for path in inputs.eos for a in iter_frames(path)],
                              RigidIonPotential.from_config(params.potential))
frames = sampled + eos
pulay_gpa = json.loads(open(inputs.stress_check).read())["pulay_pressure_gpa"]
remove_pulay_stress(frames, pulay_gpa)
log.info("Pulay pressure removed from every DFT stress label: %.3f GPa", pulay_gpa)
write_frames(out.dataset, frames)
write_extxyz(out.extxyz, frames)
columns = ("structure_id", "source", "pool_index", "phase", "run_pressure_gpa", "split")
table = pd.DataFrame([{k: a.info[k] for k in columns}
                      | {"n_atoms": len(a), "energy_per_atom": a.get_potential_energy() / len(a)} for a in frames])
with atomic_path(out.split) as tmp:
    table.to_csv(tmp, index=False)
log.info("dataset: %d converged (%d sampled, %d equation-of-state cells), %d failed\n%s", len(frames),
         len(sampled), len(eos), len(failed), table.groupby(["split", "source", "phase"]).size().to_string())
