# DFT relabelling: pseudopotentials, one pw.x job per shard, the labelled dataset.


rule pseudopotential:
    output:
        upf="results/dft/pseudo/{element}.UPF",
    params:
        source=pseudopotential_source,
    log:
        "logs/dft/pseudo_{element}.log",
    benchmark:
        "logs/benchmarks/dft/pseudopotential_{element}.tsv"
    conda:
        "../../envs/qe.yaml"
    script:
        "../scripts/pseudopotential.py"


rule relabel:
    input:
        shard="results/distill/dft_shard_{k}.db",
        pseudo=expand("results/dft/pseudo/{element}.UPF", element=list(config["potential"]["charges"])),
    output:
        frames="results/dft/shard_{k}.db",
        status="results/dft/shard_{k}.status.json",
    params:
        dft=dft_calculation(),
        workdir="results/dft/work",
    log:
        "logs/dft/shard_{k}.log",
    benchmark:
        "logs/benchmarks/dft/shard_{k}.tsv"
    threads: config["dft"]["tasks"]
    resources:
        tasks=config["dft"]["tasks"],
        runtime=config["dft"]["runtime"],
        mpi="srun",
    conda:
        "../../envs/qe.yaml"
    script:
        "../scripts/relabel.py"


rule dft_dataset:
    input:
        frames=expand("results/dft/shard_{k}.db", k=dft_shard_indices()),
        status=expand("results/dft/shard_{k}.status.json", k=dft_shard_indices()),
        eos=eos_training_files("db"),
        eos_status=eos_training_files("status.json"),
        stress_check="results/eos/dft_stress_check.json",
    output:
        dataset="results/dft/dataset.db",
        extxyz="results/dft/dataset.extxyz",
        split=report(
            "results/dft/split.csv",
            caption="../report/dft_split.rst",
            category="4. DFT",
        ),
        failed="results/dft/failed.csv",
    params:
        max_failed_fraction=config["dft"]["max_failed_fraction"],
        split=config["dft"]["split"],
        seed=config["seed"],
        potential=config["potential"],
    log:
        "logs/dft/dataset.log",
    benchmark:
        "logs/benchmarks/dft/dft_dataset.tsv"
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/dft_dataset.py"
