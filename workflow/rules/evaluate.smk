# Evaluation: every model and the empirical potential on the DFT test split.


rule evaluate:
    input:
        dataset="results/dft/dataset.db",
        coulomb="results/charges/coulomb_q1.npz",
        scan="results/charges/scan.csv",
        models=model_files(),
    output:
        metrics=report(
            "results/eval/metrics.csv",
            caption="../report/metrics.rst",
            category="7. Evaluation",
        ),
        parity=report(
            "results/eval/parity.png",
            caption="../report/parity.rst",
            category="7. Evaluation",
        ),
        error_vs_q=report(
            "results/eval/error_vs_q.png",
            caption="../report/error_vs_q.rst",
            category="7. Evaluation",
        ),
    log:
        "logs/eval/evaluate.log",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/evaluate.py"


rule md:
    input:
        model="models/finetune_qeff.pt",
        start="results/structures/wurtzite_P0.extxyz",
    output:
        summary="results/eval/md_summary.json",
        nve="results/eval/nve.csv",
        compression="results/eval/compression.csv",
        plot=report(
            "results/eval/md.png",
            caption="../report/md.rst",
            category="7. Evaluation",
        ),
    params:
        md=config["md"],
        seed=config["seed"],
    log:
        "logs/eval/md.log",
    benchmark:
        "logs/benchmarks/eval/md.tsv"
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/md.py"
