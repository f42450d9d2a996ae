"""Sampling: well-tempered metadynamics with the empirical rigid-ion potential on the
coordination number across phases, temperatures and pressures, from the relaxed prototypes
(docs/method.md §2). Rules: sampling.smk; config: sampling; outputs: results/sampling/."""
