"""ionnp.chemistry: one chemistry from potential.charges, checked against the files it made."""

import numpy as np
import pytest
import torch
from ase.build import bulk

from ionnp.charges.coulomb import check_coulomb_file, coulomb, write_results
from ionnp.chemistry import Chemistry, formula_units
from ionnp.nnp.potential import NNPotential, check_model_file
from ionnp.nnp.short_range import ModelSettings


def test_from_charges_puts_the_cation_first_whatever_the_key_order():
    for charges in ({"Zn": 2.0, "O": -2.0}, {"O": -2.0, "Zn": 2.0}):
        chemistry = Chemistry.from_charges(charges)
        assert chemistry == Chemistry("Zn", "O", 2.0)
        assert chemistry.elements == ("Zn", "O") and chemistry.signs == {"Zn": 1.0, "O": -1.0}
    assert Chemistry.from_dict(chemistry.to_dict()) == chemistry


@pytest.mark.parametrize("charges", [{"Zn": 2.0, "O": -1.0}, {"Zn": 2.0}, {"Zn": -2.0, "O": -2.0},
                                     {"Zn": 2.0, "O": -2.0, "S": -2.0}])
def test_other_charges_are_refused(charges):
    with pytest.raises(ValueError, match="potential.charges"):
        Chemistry.from_charges(charges)


def test_unit_charges_and_formula_units():
    atoms = bulk("ZnO", "rocksalt", a=4.3, cubic=True)
    chemistry = Chemistry("Zn", "O", 2.0)
    np.testing.assert_array_equal(chemistry.unit_charges(atoms), [1, -1] * 4)
    assert formula_units(atoms) == 4
    with pytest.raises(ValueError, match=r"elements \['Mg'\] are neither"):
        chemistry.unit_charges(bulk("MgO", "rocksalt", a=4.2))


def test_files_of_another_chemistry_are_refused_naming_both(tmp_path):
    """A Coulomb file or pretrained model made for MgO is refused by a ZnO config, and the
    message names the file and both chemistries."""
    zno, mgo = Chemistry("Zn", "O", 2.0), Chemistry("Mg", "O", 2.0)
    atoms = bulk("MgO", "rocksalt", a=4.2, cubic=True)
    path = tmp_path / "coulomb_q1.npz"
    write_results(path, [coulomb(atoms, mgo.unit_charges(atoms))], metadata={"chemistry": mgo.to_dict()})
    check_coulomb_file(path, mgo)
    with pytest.raises(ValueError, match=rf"{path} was computed for .*Mg.* but potential.charges gives .*Zn"):
        check_coulomb_file(path, zno)
    model = tmp_path / "pretrain_q1.pt"
    NNPotential.create(mgo.elements, ModelSettings(hidden_layers=(4,), ensemble_size=1),
                       charge=1.0, charge_signs=mgo.signs).to(torch.float64).save(model)
    check_model_file(model, mgo)
    with pytest.raises(ValueError, match=rf"{model} holds elements \('Mg', 'O'\)"):
        check_model_file(model, zno)
