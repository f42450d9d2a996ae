"""Rule charge_scan: the learnability of DFT − q² E_C(1) by a pair model, on a grid of q, and
its optimum with a bootstrap interval."""

import json

import _ionnp_path  # noqa: F401

from ionnp.charges.coulomb import read_results
from ionnp.charges.scan import ReferenceStructure, ScanSettings, charge_scan
from ionnp.charges.coulomb import check_coulomb_file
from ionnp.chemistry import Chemistry
from ionnp.frames import read_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.train.settings import FINETUNE_LOSS_WEIGHTS, TrainingSettings

log = log_to_file(snakemake.log[0])
chemistry = Chemistry.from_charges(snakemake.params.charges)
check_coulomb_file(snakemake.input.coulomb, chemistry)
settings = ScanSettings.from_config({**snakemake.params.scan, "seed": snakemake.params.seed},
                                    chemistry.elements)
frames = read_frames(snakemake.input.dataset)
unit = read_results(snakemake.input.coulomb)
# q is a hyper-parameter: judge it on train + valid, never on the test split.
chosen = [(a, c) for a, c in zip(frames, unit) if a.info["split"] != "test"]
structures = [ReferenceStructure.from_atoms(a, c) for a, c in chosen]
if snakemake.params.scan["loss_weights"] == "finetune":
    finetune = TrainingSettings.from_config(snakemake.params.finetune, finetune=True)
    settings = settings.with_finetune_weights(
        {key: getattr(finetune, key) for key in FINETUNE_LOSS_WEIGHTS}, structures)
log.info("weights per (meV/atom)², (meV/Å)², GPa²: %.4g, %.4g, %.4g (%s)", *settings.weights,
         snakemake.params.scan["loss_weights"])
scan = charge_scan(structures, settings)
with atomic_path(snakemake.output.table) as tmp:
    scan.table.to_csv(tmp, index=False, float_format="%.6g")
with atomic_path(snakemake.output.learnability) as tmp:
    tmp.write_text(json.dumps(scan.learnability, indent=1))
found = scan.learnability
log.info("scan over %d structures\n%s\nlearnability: q = %.3f e, %g %% interval %.3f-%.3f e over %d "
         "held-out %s (%s)", len(structures), scan.table.to_string(), found["q"],
         100 * found["confidence"], found["low"], found["high"], found["n_units"],
         "strata" if found["cv"] == "grouped" else "structures",
         "determined" if found["determined"] else f"undetermined: wider than {found['max_interval']} e")
