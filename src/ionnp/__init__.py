"""ionnp: neural network potentials with effective charge separation for ionic solids.

The library behind the Snakemake workflow: one module per concern (config validation,
polymorph prototypes, the empirical rigid-ion potential in LAMMPS, ...). Units follow ASE:
eV, Å, eV/Å and eV/Å³ with ASE's stress sign; reports convert stress to GPa.
"""

__version__ = "0.1.0"
