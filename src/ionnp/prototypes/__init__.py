"""Prototypes: the polymorphs' starting cells, relaxed with the empirical rigid-ion potential at
each configured pressure, and their enthalpies (docs/method.md §1). Rules: prototypes.smk;
config: prototypes, potential; outputs: results/prototypes/."""
