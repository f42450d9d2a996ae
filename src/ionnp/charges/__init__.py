"""Effective charges: the unit-charge Ewald term (torch-pme) and the training-free charge scan
(docs/method.md §5). Rules: charges.smk; config: charges; outputs: results/charges/."""
