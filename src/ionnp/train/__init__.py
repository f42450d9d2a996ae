"""Training: targets (the one place where y − q² y_C is formed), settings, the loop with
fingerprinted checkpoints, transfer from the A-Train, ensembles (docs/method.md §6–7). Rules:
train.smk; config: training; outputs: models/, results/train/."""
