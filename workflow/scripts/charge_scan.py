"""Rule charge_scan: choose q from DFT and explicit Coulomb alone (ionnp.charge_scan)."""

import json

import _ionnp_path  # noqa: F401
from ase.calculators.singlepoint import SinglePointCalculator

from ionnp.charges.coulomb import read_results
from ionnp.charges.scan import ReferenceStructure, ScanSettings, charge_scan, pick_q
from ionnp.chemistry import Chemistry, check_chemistry
from ionnp.frames import read_frames
from ionnp.io import atomic_path, write_extxyz
from ionnp.logs import log_to_file

log = log_to_file(snakemake.log[0])
section = dict(snakemake.params.scan)
method = section.pop("method")
chemistry = Chemistry.from_charges(snakemake.params.charges)
check_chemistry(chemistry, coulomb=snakemake.input.coulomb)
settings = ScanSettings.from_config({**section, "seed": snakemake.params.seed}, chemistry.elements)
frames = read_frames(snakemake.input.dataset)
unit = read_results(snakemake.input.coulomb)
# q is a hyper-parameter: choose it on train + valid, never on the test split.
chosen = [(a, c) for a, c in zip(frames, unit) if a.info["split"] != "test"]
structures = [ReferenceStructure.from_atoms(a, c) for a, c in chosen]
table = charge_scan(structures, settings)
q_eff, metrics = pick_q(table, method)
with atomic_path(snakemake.output.table) as tmp:
    table.to_csv(tmp, index=False, float_format="%.6g")
with atomic_path(snakemake.output.q_eff) as tmp:
    tmp.write_text(json.dumps({"q_eff": q_eff, "method": method, "n_structures": len(structures),
                               "metrics": metrics}, indent=1))
residual = []
for atoms, c in zip(frames, unit):
    r = atoms.copy()
    r.info.update(q_eff=q_eff, split=atoms.info["split"])
    r.calc = SinglePointCalculator(r, energy=atoms.get_potential_energy() - q_eff**2 * c.energy,
                                   forces=atoms.get_forces() - q_eff**2 * c.forces,
                                   stress=atoms.get_stress() - q_eff**2 * c.stress)
    residual.append(r)
write_extxyz(snakemake.output.residual, residual)
log.info("q_eff = %.4f e (%s) from %d structures\n%s", q_eff, method, len(structures), table.to_string())
