"""Deployment: a trained potential as a self-contained TorchScript file (:mod:`ionnp.deploy.export`)
for LAMMPS's ``pair_style ionnp`` (``lammps-plugin/``) and for Python without ionnp's training code."""
