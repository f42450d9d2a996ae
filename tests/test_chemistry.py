"""ionnp.chemistry: one chemistry from potential.charges, checked against the files it made."""

import numpy as np
import pytest
import torch
from ase.build import bulk

from ionnp.charges.coulomb import check_coulomb_file, coulomb, write_results
from ionnp.chemistry import Chemistry, formula_units
from ionnp.nnp.potential import NNPotential, check_model_file
from ionnp.nnp.short_range import ModelSettings


def test_from_charges_orders_by_formal_charge_whatever_the_key_order():
    for charges in ({"Zn": 2.0, "O": -2.0}, {"O": -2.0, "Zn": 2.0}):
        chemistry = Chemistry.from_charges(charges)
        assert chemistry == Chemistry(("Zn", "O"), (2.0, -2.0))
        assert chemistry.elements == ("Zn", "O") and chemistry.unit_charge == {"Zn": 1.0, "O": -1.0}
    assert Chemistry.from_dict(chemistry.to_dict()) == chemistry


def test_a_two_to_one_and_a_ternary_compound():
    """CaF2: Ca the reference (q = λ z_Ca), F at −½ in E_C(1), formula unit CaF2. SrTiO3: Ti
    (the largest formal charge) first; its formula is not fixed by the charges."""
    caf2 = Chemistry.from_charges({"F": -1.0, "Ca": 2.0})
    assert caf2.elements == ("Ca", "F") and caf2.unit_charge == {"Ca": 1.0, "F": -0.5}
    assert caf2.formula_unit() == {"Ca": 1, "F": 2} and caf2.formula() == "CaF2"
    assert caf2.scale(1.6) == pytest.approx(0.8) and caf2.reference_charge == 2.0
    fluorite = bulk("CaF2", "fluorite", a=5.46)
    np.testing.assert_array_equal(caf2.unit_charges(fluorite), [1.0, -0.5, -0.5])
    assert Chemistry.from_charges({"Al": 3, "O": -2}).formula() == "Al2O3"
    perovskite = Chemistry.from_charges({"Sr": 2, "Ti": 4, "O": -2})
    assert perovskite.elements == ("Ti", "Sr", "O") and perovskite.cations == ("Ti", "Sr")
    with pytest.raises(ValueError, match="structure files"):
        perovskite.formula_unit()


@pytest.mark.parametrize("charges, match", [
    ({"Zn": 2.0}, "two or more"), ({"Zn": -2.0, "O": -2.0}, "cations"),
    ({"Zn": 2.0, "O": 0.0}, "no charge"), ({"Zn": 2.0, "Xx": -2.0}, "not chemical elements"),
    ({"Ca": 2.0, "F": -0.7}, "no neutral formula unit")])
def test_other_charges_are_refused(charges, match):
    with pytest.raises(ValueError, match=match):
        Chemistry.from_charges(charges)


def test_unit_charges_and_formula_units():
    atoms = bulk("ZnO", "rocksalt", a=4.3, cubic=True)
    chemistry = Chemistry.from_charges({"Zn": 2.0, "O": -2.0})
    np.testing.assert_array_equal(chemistry.unit_charges(atoms), [1, -1] * 4)
    assert formula_units(atoms) == 4
    with pytest.raises(ValueError, match=r"elements \['Mg'\] are not among the species"):
        chemistry.unit_charges(bulk("MgO", "rocksalt", a=4.2))
    with pytest.raises(ValueError, match="not neutral"):
        chemistry.unit_charges(atoms[:3])


def test_files_of_another_chemistry_are_refused_naming_both(tmp_path):
    """A Coulomb file or pretrained model made for MgO is refused by a ZnO config, and the
    message names the file and both chemistries."""
    zno, mgo = (Chemistry.from_charges({s: 2.0, "O": -2.0}) for s in ("Zn", "Mg"))
    atoms = bulk("MgO", "rocksalt", a=4.2, cubic=True)
    path = tmp_path / "coulomb_q1.npz"
    write_results(path, [coulomb(atoms, mgo.unit_charges(atoms))], metadata={"chemistry": mgo.to_dict()})
    check_coulomb_file(path, mgo)
    with pytest.raises(ValueError, match=rf"{path} was computed for .*Mg.* but potential.charges gives .*Zn"):
        check_coulomb_file(path, zno)
    model = tmp_path / "pretrain_q1.pt"
    NNPotential.create(mgo.elements, ModelSettings(hidden_layers=(4,), ensemble_size=1),
                       charge=1.0, unit_charges=mgo.unit_charge).to(torch.float64).save(model)
    check_model_file(model, mgo)
    with pytest.raises(ValueError, match=rf"{model} holds elements \('Mg', 'O'\)"):
        check_model_file(model, zno)


def test_coulomb_at_the_formal_charges_is_z_ref_squared_times_the_unit_one():
    """What A-Train relies on (ionnp.train.targets.coulomb_factor): for CaF2, the Ewald energy at
    Ca +2, F −1 is z_ref² = 4 times the one at the unit charges Ca +1, F −½."""
    caf2 = Chemistry.from_charges({"Ca": 2.0, "F": -1.0})
    atoms = bulk("CaF2", "fluorite", a=5.46, cubic=True)
    atoms.rattle(0.05, seed=2)
    formal = coulomb(atoms, caf2.charges, accuracy=1e-10)
    unit = coulomb(atoms, caf2.unit_charges(atoms), accuracy=1e-10)
    assert formal.energy == pytest.approx(caf2.reference_charge**2 * unit.energy, rel=1e-9)
    np.testing.assert_allclose(formal.forces, 4.0 * unit.forces, atol=1e-9)
