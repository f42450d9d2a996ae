"""Rule q_eff: the effective charge by charges.method, every estimator beside it, and the DFT
residual y_DFT − q_eff² y_C(1) that fine-tuning at q_eff learns."""

import json

import _ionnp_path  # noqa: F401
import pandas as pd
from ase.calculators.singlepoint import SinglePointCalculator

from ionnp.charges.choice import choose
from ionnp.charges.coulomb import read_results
from ionnp.frames import read_frames
from ionnp.io import atomic_path, write_extxyz
from ionnp.logs import log_to_file
from ionnp.train.targets import finetune_targets

log = log_to_file(snakemake.log[0])
lt = json.loads(open(snakemake.input.lt).read())
dfpt = json.loads(open(snakemake.input.dfpt).read())
learnability = json.loads(open(snakemake.input.learnability).read())
chosen = choose(snakemake.params.method, lt, dfpt, pd.read_csv(snakemake.input.scan), learnability)
q_eff = chosen["q_eff"]
with atomic_path(snakemake.output.q_eff) as tmp:
    tmp.write_text(json.dumps(chosen, indent=1))
residual = []
for atoms, unit in zip(read_frames(snakemake.input.dataset), read_results(snakemake.input.coulomb)):
    target = finetune_targets(atoms, unit, q_eff)
    r = atoms.copy()
    r.info.update(q_eff=q_eff, split=atoms.info["split"])
    r.calc = SinglePointCalculator(r, energy=target.energy, forces=target.forces, stress=target.stress)
    residual.append(r)
write_extxyz(snakemake.output.residual, residual)
log.info("q_eff = %.4f e (%s); estimators: %s", q_eff, chosen["method"],
         {name: round(e["q"], 4) for name, e in chosen["estimators"].items()})
