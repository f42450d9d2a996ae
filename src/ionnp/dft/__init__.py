"""DFT relabelling: pseudopotentials (ld1.x), resumable pw.x runs with status records, and the
DFT dataset with its splits (docs/method.md §4). Rules: dft.smk; config: dft; outputs:
results/dft/."""
