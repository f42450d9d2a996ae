"""Rule refine_select: the spread of every explored snapshot under round r − 1's model, the
trust classes, FPS among the candidates up to the budget, the convergence verdict
(ionnp.refine.select)."""

import json

import _ionnp_path  # noqa: F401
import numpy as np
import pandas as pd

from ionnp.distill.features import structure_features
from ionnp.frames import read_frames, write_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.nnp.descriptors import DescriptorSettings
from ionnp.nnp.potential import NNPotential
from ionnp.refine.select import TrustLevels, select_round

log = log_to_file(snakemake.log[0])
params, out = snakemake.params, snakemake.output
frames = read_frames(snakemake.input.frames)
trust = TrustLevels(**json.loads(open(snakemake.input.trust).read()))
model = NNPotential.load(snakemake.input.model)
predicted = model.predict_many(frames, forces=False, stress=False) if frames else []
spread = np.array([1000.0 * p.energy_std / len(a) for p, a in zip(predicted, frames)])
features = (structure_features(frames, DescriptorSettings.from_config(params.descriptors), params.elements)
            if frames else np.zeros((0, 1)))
result = select_round(spread, features, trust, params.budget, params.converged_fraction)
table = pd.DataFrame({"protocol": [a.info["protocol"] for a in frames],
                      "step": [a.info["explore_step"] for a in frames],
                      "spread_mev_per_atom": spread, "class": trust.classify(spread)})
table["selected"] = np.isin(np.arange(len(frames)), result.selected)
with atomic_path(out.spread) as tmp:
    table.to_csv(tmp, index=False, float_format="%.6g")
selected = []
for k in result.selected:
    atoms = frames[k]
    atoms.info.update(structure_id=f"refine_r{snakemake.wildcards.r}_{k:05d}", refine_round=int(snakemake.wildcards.r))
    selected.append(atoms)
write_frames(out.selected, selected)
with atomic_path(out.summary) as tmp:
    tmp.write_text(json.dumps(result.to_dict(), indent=1))
log.info("round %s: %d explored, %d known, %d candidates, %d unphysical; %.1f %% above the lower "
         "level%s; %d chosen for DFT", snakemake.wildcards.r, result.explored, result.known, result.candidates,
         result.unphysical, 100 * result.fraction_above_low, " (converged)" if result.converged else "",
         len(selected))
