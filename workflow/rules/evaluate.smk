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


rule eos_dft:
    input:
        start="results/structures/{phase}_P0.extxyz",
        pseudo=expand("results/pseudo/{element}.UPF", element=list(config["potential"]["charges"])),
    output:
        frames="results/eos/{phase}_dft.db",
        status="results/eos/{phase}_dft.status.json",
    params:
        dft=dft_calculation(),
        volume_scales=config["eos"]["volume_scales"],
        workdir="results/eos/work",
    log:
        "logs/eos/{phase}_dft.log",
    benchmark:
        "logs/benchmarks/eos/{phase}_dft.tsv"
    threads: config["dft"]["tasks"]
    resources:
        tasks=config["dft"]["tasks"],
        runtime=config["dft"]["runtime"],
        mpi="srun",
    conda:
        "../../envs/qe.yaml"
    script:
        "../scripts/eos_dft.py"


rule eos:
    input:
        dft=expand("results/eos/{phase}_dft.db", phase=config["eos"]["phases"]),
        status=expand("results/eos/{phase}_dft.status.json", phase=config["eos"]["phases"]),
        model="models/finetune_qeff.pt",
    output:
        points="results/eval/eos_points.csv",
        fits=report(
            "results/eval/eos.csv",
            caption="../report/eos_table.rst",
            category="7. Evaluation",
        ),
        transitions=report(
            "results/eval/transitions.csv",
            caption="../report/transitions.rst",
            category="7. Evaluation",
        ),
        plot=report(
            "results/eval/eos.png",
            caption="../report/eos.rst",
            category="7. Evaluation",
        ),
    params:
        eos=config["eos"],
        potential=config["potential"],
    log:
        "logs/eval/eos.log",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/eos.py"
