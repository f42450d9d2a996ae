# Evaluation: every model and the empirical potential on the DFT test split.


rule evaluate:
    input:
        dataset=rules.dft_dataset.output.dataset,
        coulomb=rules.coulomb.output.coulomb,
        scan=rules.charge_scan.output.table,
        models=model_files(),
    output:
        metrics=report(
            "results/evaluate/metrics.csv",
            caption="../report/metrics.rst",
            category="7. Evaluation",
        ),
        parity=report(
            "results/evaluate/parity.png",
            caption="../report/parity.rst",
            category="7. Evaluation",
        ),
        error_vs_q=report(
            "results/evaluate/error_vs_q.png",
            caption="../report/error_vs_q.rst",
            category="7. Evaluation",
        ),
    log:
        "logs/evaluate/evaluate.log",
    benchmark:
        "logs/benchmarks/evaluate/evaluate.tsv"
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/evaluate.py"


rule lt_models:
    input:
        frames=rules.lt_dft.output.frames,
        lt=rules.lt.output.result,
        models=model_files(),
    output:
        table="results/evaluate/lt_models.csv",
        plot=report(
            "results/evaluate/lt_models.png",
            caption="../report/lt_models.rst",
            category="7. Evaluation",
        ),
    params:
        charges=config["potential"]["charges"],
        amplitude=config["charges"]["lt"]["amplitude"],
    log:
        "logs/evaluate/lt_models.log",
    benchmark:
        "logs/benchmarks/evaluate/lt_models.tsv"
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/lt_models.py"


rule validation:
    input:
        metrics=rules.evaluate.output.metrics,
        fits="results/eos/eos.csv",
        transitions="results/eos/transitions.csv",
        md_summary="results/md/md_summary.json",
        nve="results/md/nve.csv",
        split=rules.dft_dataset.output.split,
        q_eff=rules.q_eff.output.q_eff,
        lt_models=rules.lt_models.output.table,
        stress_check=rules.dft_stress_check.output.check,
        loading="results/loading/metrics.csv",
    output:
        json="results/evaluate/validation.json",
        markdown=report(
            "results/evaluate/validation.md",
            caption="../report/validation.rst",
            category="7. Evaluation",
        ),
    params:
        max_spread=config["md"]["max_spread_mev_per_atom"],
        amplitude=config["charges"]["lt"]["amplitude"],
        criteria=config["evaluate"]["criteria"],
        transition_phase=role("high_pressure"),
        final=model_name(final_model()),
    log:
        "logs/evaluate/validation.log",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/validation.py"
