# The ground state -> high-pressure phase transition at scale (prototypes.roles): an NPT pressure ramp up and back down in LAMMPS
# with the final NNP and with the empirical potential, the traces, transition pressures and
# hysteresis against the DFT equation-of-state value.


rule transition:
    input:
        unpack(transition_inputs),
    output:
        trace="results/transition/{potential}_trace.csv",
        frames="results/transition/{potential}_frames.extxyz",
    params:
        transition=run_settings("transition"),
        potential=config["potential"],
        seed=config["seed"],
        cv_r0=config["sampling"]["metadynamics"]["cv_r0"],
        checkpoints=lambda wildcards: f"results/transition/checkpoint/{wildcards.potential}",
    log:
        "logs/transition/{potential}.log",
    benchmark:
        "logs/benchmarks/transition/{potential}.tsv"
    threads: config["transition"]["threads"]
    resources:
        runtime=config["transition"]["runtime"],
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/transition.py"


rule transition_report:
    input:
        traces=expand("results/transition/{potential}_trace.csv", potential=["nnp", "empirical"]),
        transitions=rules.eos.output.transitions,
        fits=rules.eos.output.fits,
        high_pressure=f"results/prototypes/{role('high_pressure')}_P0.extxyz",
    output:
        table=report(
            "results/transition/transitions.csv",
            caption="../report/transition_table.rst",
            category="8. Transition",
        ),
        plot=report(
            "results/transition/transition.png",
            caption="../report/transition.rst",
            category="8. Transition",
        ),
    params:
        charges=config["potential"]["charges"],
        ground_state=role("ground_state"),
        high_pressure=role("high_pressure"),
        cv_r0=config["sampling"]["metadynamics"]["cv_r0"],
    log:
        "logs/transition/report.log",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/transition_report.py"
