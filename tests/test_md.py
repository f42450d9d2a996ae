"""MD helpers: NVE with an untrained (but smooth and conservative) network."""

import numpy as np
import torch
from ase.build import bulk

from ionnp.calculator import IonnpCalculator
from ionnp.md import nve_drift
from ionnp.model import ModelSettings, NNPotential


def test_nve_conserves_energy_and_reports_the_drift():
    potential = NNPotential.create(["Zn", "O"], ModelSettings(hidden_layers=(4,), ensemble_size=1),
                                   charge=0.0)
    atoms = bulk("ZnO", "rocksalt", a=4.3, cubic=True)
    atoms.rattle(0.02, seed=1)
    atoms.calc = IonnpCalculator(potential.to(torch.float64), spread=False)
    trace, drift = nve_drift(atoms, 300.0, 1.0, 200, seed=3)
    total = trace.total_ev_per_atom.to_numpy()
    assert len(trace) == 21
    # Velocity Verlet with forces that are the energy's gradient: the total energy is flat
    # (a sign or factor error in the forces makes it wander by far more than 1 meV/atom).
    assert np.ptp(total) < 1e-3 and abs(drift) < 1.0
    assert np.ptp(trace.potential_ev_per_atom) > 10 * np.ptp(total)  # atoms do move
