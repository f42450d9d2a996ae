"""Refinement rounds: the potential explores with its own dynamics, DFT labels where its ensemble
is unsure, and it is fine-tuned on the union (docs/method.md, refinement rounds)."""
