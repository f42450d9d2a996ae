"""Rule dfpt: ε∞ and Born charges of wurtzite from ph.x at every configured k spacing."""

import dataclasses
import json
from pathlib import Path

import _ionnp_path  # noqa: F401
import ase.io

from ionnp.charges.dfpt import run_dfpt, summarise
from ionnp.chemistry import formula_units
from ionnp.dft.pw import DftSettings, Launch
from ionnp.evaluate.eos import fit_birch_murnaghan
from ionnp.frames import read_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file

log = log_to_file(snakemake.log[0])
params = snakemake.params
settings = DftSettings.from_config(params.dft, snakemake.input.pseudo)
launch = Launch.from_config(params.dft, snakemake.resources.tasks)
eos = read_frames(snakemake.input.eos)
v0 = fit_birch_murnaghan([c.get_volume() / formula_units(c) for c in eos],
                         [c.get_potential_energy() / formula_units(c) for c in eos]).v0
atoms = ase.io.read(snakemake.input.start)
atoms.calc = None
atoms.set_cell(atoms.cell * (v0 * formula_units(atoms) / atoms.get_volume()) ** (1 / 3), scale_atoms=True)
log.info("wurtzite at the DFT V0 = %.3f Å³/f.u.; launch: %s", v0, launch.template)
results = []
for kspacing in params.dfpt["kspacing"]:
    result = run_dfpt(atoms, dataclasses.replace(settings, kspacing=kspacing),
                      Path(params.workdir) / f"k{kspacing:.3f}", launch,
                      params.dfpt["tr2_ph"])
    log.info("k spacing %g (%s): %s q = %.4f e %s", kspacing, result.kpoints, result.status, result.q,
             result.reason[:300])
    results.append(result)
summary = summarise(results)
summary["volume_per_formula_unit"] = v0
with atomic_path(snakemake.output.result) as tmp:
    tmp.write_text(json.dumps(summary, indent=1))
log.info("q_DFPT = %.4f e (ε∞ = %.3f, |Z*| = %.3f)", summary["q"], summary["epsilon_inf"], summary["born_charge"])
