"""Distillation: structure features, farthest-point sampling, and the choice of the A-Train and
DFT sets (docs/method.md §3). Rules: distill.smk; config: distill; outputs: results/distill/."""
