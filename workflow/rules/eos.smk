# Equations of state: Birch-Murnaghan fits of DFT (rule eos_dft, dft.smk), the final NNP and the
# empirical potential on the same cells, and the transition pressures.


rule eos:
    input:
        dft=expand(rules.eos_dft.output.frames, phase=config["eos"]["phases"]),
        status=expand(rules.eos_dft.output.status, phase=config["eos"]["phases"]),
        model=final_model(),
    output:
        points="results/eos/eos_points.csv",
        fits=report(
            "results/eos/eos.csv",
            caption="../report/eos_table.rst",
            category="7. Evaluation",
        ),
        transitions=report(
            "results/eos/transitions.csv",
            caption="../report/transitions.rst",
            category="7. Evaluation",
        ),
        plot=report(
            "results/eos/eos.png",
            caption="../report/eos.rst",
            category="7. Evaluation",
        ),
    params:
        eos=config["eos"],
        ground_state=role("ground_state"),
        potential=config["potential"],
    log:
        "logs/eos/eos.log",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/eos.py"
