"""Rule dft_stress_check: do the DFT stresses agree with the DFT energies? (ionnp.evaluate.eos)

The equation-of-state cells' stress pressure against −dE/dV of their Birch–Murnaghan fit. With
dft.pulay_correction the mean offset (the basis's Pulay stress) is removed from every DFT stress
label (rule dft_dataset); where what remains exceeds dft.max_stress_offset_gpa fine-tuning leaves
stress out."""

import json

import _ionnp_path  # noqa: F401
import pandas as pd

from ionnp.evaluate.eos import eos_point, stress_check
from ionnp.frames import read_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file

log = log_to_file(snakemake.log[0])
points = pd.DataFrame([eos_point("DFT", atoms, atoms.get_potential_energy(), atoms.get_stress())
                       for path in snakemake.input.dft for atoms in read_frames(path)])
check = stress_check(points, snakemake.params.threshold_gpa, snakemake.params.pulay_correction)
with atomic_path(snakemake.output.check) as tmp:
    tmp.write_text(json.dumps(check, indent=1))
log.info("DFT stress offsets (GPa): %s; Pulay pressure removed from the labels: %.3f GPa; residual "
         "offsets: %s; usable for training: %s", check["stress_offset_gpa"], check["pulay_pressure_gpa"],
         check["residual_offset_gpa"], check["usable"])
