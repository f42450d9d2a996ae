"""Evaluation: errors per variant, polymorph and pressure, equations of state and transition
pressures, MD with the final model (docs/method.md §9). Rules: evaluate.smk, eos.smk, md.smk;
config: eos, md; outputs: results/evaluate/, results/eos/, results/md/."""
