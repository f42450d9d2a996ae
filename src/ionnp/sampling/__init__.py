"""Sampling: polymorph prototypes relaxed with the empirical rigid-ion potential, and
well-tempered metadynamics on the coordination number across phases, temperatures and pressures
(docs/method.md §1–2). Rules: prototypes.smk, sampling.smk; config: prototypes, potential,
sampling; outputs: results/prototypes/, results/sampling/."""
