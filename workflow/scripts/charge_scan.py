"""Rule charge_scan: the learnability of DFT − q² E_C(1) by a pair model, on a grid of q."""

import _ionnp_path  # noqa: F401

from ionnp.charges.coulomb import read_results
from ionnp.charges.scan import ReferenceStructure, ScanSettings, charge_scan
from ionnp.chemistry import Chemistry, check_chemistry
from ionnp.frames import read_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file

log = log_to_file(snakemake.log[0])
chemistry = Chemistry.from_charges(snakemake.params.charges)
check_chemistry(chemistry, coulomb=snakemake.input.coulomb)
settings = ScanSettings.from_config({**snakemake.params.scan, "seed": snakemake.params.seed},
                                    chemistry.elements)
frames = read_frames(snakemake.input.dataset)
unit = read_results(snakemake.input.coulomb)
# q is a hyper-parameter: judge it on train + valid, never on the test split.
chosen = [(a, c) for a, c in zip(frames, unit) if a.info["split"] != "test"]
structures = [ReferenceStructure.from_atoms(a, c) for a, c in chosen]
table = charge_scan(structures, settings)
with atomic_path(snakemake.output.table) as tmp:
    table.to_csv(tmp, index=False, float_format="%.6g")
log.info("scan over %d structures\n%s", len(structures), table.to_string())
