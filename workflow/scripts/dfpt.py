"""Rule dfpt: ε∞ and Born charges of wurtzite from ph.x at every configured k spacing."""

import json
from pathlib import Path

import _ionnp_path  # noqa: F401
import ase.io

from ionnp.charges.dfpt import dfpt_series, summarise
from ionnp.dft.pw import DftSettings, Launch
from ionnp.evaluate.eos import at_volume, equilibrium_volume
from ionnp.frames import read_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file

log = log_to_file(snakemake.log[0])
params = snakemake.params
settings = DftSettings.from_config(params.dft, snakemake.input.pseudo)
launch = Launch.from_config(params.dft, snakemake.resources.tasks)
v0 = equilibrium_volume(read_frames(snakemake.input.eos))
atoms = at_volume(ase.io.read(snakemake.input.start), v0)
log.info("wurtzite at the DFT V0 = %.3f Å³/f.u.; launch: %s", v0, launch.template)
results = dfpt_series(atoms, settings, params.dfpt["kspacing"], Path(params.workdir), launch, params.dfpt["tr2_ph"])
summary = summarise(results)
summary["volume_per_formula_unit"] = v0
with atomic_path(snakemake.output.result) as tmp:
    tmp.write_text(json.dumps(summary, indent=1))
log.info("q_DFPT = %.4f e (ε∞ = %.3f, |Z*| = %.3f)", summary["q"], summary["epsilon_inf"], summary["born_charge"])
