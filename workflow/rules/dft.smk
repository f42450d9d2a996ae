# DFT relabelling: pseudopotentials, one pw.x job per shard, pw.x at the equations of state's
# volumes and the check of their stresses against their energies, the labelled dataset.


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
        pseudo=expand(rules.pseudopotential.output.upf, element=list(config["potential"]["charges"])),
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


rule eos_dft:
    input:
        start="results/prototypes/{phase}_P0.extxyz",
        pseudo=expand(rules.pseudopotential.output.upf, element=list(config["potential"]["charges"])),
    output:
        frames="results/dft/eos/{phase}.db",
        status="results/dft/eos/{phase}.status.json",
    params:
        dft=dft_calculation(),
        volume_scales=config["eos"]["volume_scales"],
        workdir="results/dft/eos/work",
    log:
        "logs/dft/eos_{phase}.log",
    benchmark:
        "logs/benchmarks/dft/eos_{phase}.tsv"
    threads: config["dft"]["tasks"]
    resources:
        tasks=config["dft"]["tasks"],
        runtime=config["dft"]["runtime"],
        mpi="srun",
    conda:
        "../../envs/qe.yaml"
    script:
        "../scripts/eos_dft.py"


rule dft_stress_check:
    input:
        dft=expand(rules.eos_dft.output.frames, phase=config["eos"]["phases"]),
    output:
        check="results/dft/stress_check.json",
    params:
        threshold_gpa=config["dft"]["max_stress_offset_gpa"],
        pulay_correction=config["dft"]["pulay_correction"],
    log:
        "logs/dft/stress_check.log",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/dft_stress_check.py"


rule dft_dataset:
    input:
        frames=expand(rules.relabel.output.frames, k=dft_shard_indices()),
        status=expand(rules.relabel.output.status, k=dft_shard_indices()),
        eos=eos_training_files("db"),
        eos_status=eos_training_files("status.json"),
        stress_check=rules.dft_stress_check.output.check,
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
