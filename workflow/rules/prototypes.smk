# Prototypes: polymorphs built with ASE and relaxed with the empirical potential in LAMMPS.


rule prototype:
    input:
        structure_file,
    output:
        structure="results/prototypes/{phase}_P{p}.extxyz",
    params:
        potential=config["potential"],
        relaxation=prototype_params,
    log:
        "logs/prototypes/{phase}_P{p}.log",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/prototype.py"


rule enthalpy:
    input:
        structures=prototype_files(),
    output:
        table=report(
            "results/prototypes/enthalpy.csv",
            caption="../report/enthalpy_table.rst",
            category="1. Prototypes",
        ),
        plot=report(
            "results/prototypes/enthalpy.png",
            caption="../report/enthalpy.rst",
            category="1. Prototypes",
        ),
    log:
        "logs/prototypes/enthalpy.log",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/enthalpy.py"
