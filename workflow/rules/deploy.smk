# Deployment: the final model as a self-contained TorchScript file for pair_style ionnp in any
# LAMMPS (ionnp.deploy), with the campaign's provenance, and the LAMMPS lines that run it. The
# provenance's config hash is of the config the model was deployed under (the script reads it):
# a key that changes no input of this rule (cores, wall times, a plot) does not re-export.


rule deploy:
    input:
        model=final_model(),
        dataset=rules.dft_dataset.output.extxyz,
        validation=rules.validation.output.json,
    output:
        model="results/deploy/potential.pt",
        lammps="results/deploy/potential.lammps",
    log:
        "logs/deploy/deploy.log",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/deploy.py"
