"""Rule dfpt: ε∞ and Born charges of the ground state from ph.x at every configured k spacing."""

import json
from pathlib import Path

import _ionnp_path  # noqa: F401
import ase.io

from ionnp.charges.dfpt import dfpt_series, summarise
from ionnp.chemistry import Chemistry
from ionnp.dft.pw import DftSettings, Launch
from ionnp.evaluate.eos import at_volume, equilibrium_volume
from ionnp.frames import read_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.prototypes.structures import primitive_cell

log = log_to_file(snakemake.log[0])
params = snakemake.params
settings = DftSettings.from_config(params.dft, snakemake.input.pseudo)
launch = Launch.from_config(params.dft, snakemake.resources.tasks)
v0 = equilibrium_volume(read_frames(snakemake.input.eos))
atoms = at_volume(primitive_cell(ase.io.read(snakemake.input.start)), v0)  # ph.x cost grows as N³
log.info("%s at the DFT V0 = %.3f Å³/f.u.; launch: %s", params.phase, v0, launch.template)
results = dfpt_series(atoms, settings, params.dfpt["kspacing"], Path(params.workdir), launch, params.dfpt["tr2_ph"])
chemistry = Chemistry.from_charges(params.charges)
summary = summarise(results, chemistry)
summary["volume_per_formula_unit"] = v0
with atomic_path(snakemake.output.result) as tmp:
    tmp.write_text(json.dumps(summary, indent=1))
log.info("q_DFPT = %.4f e (λ = %.4f of the formal charges; ε∞ = %.3f, |Z*| = %.3f)", summary["q"], summary["scale"],
         summary["epsilon_inf"], summary["born_charge"])
