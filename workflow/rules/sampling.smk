# Sampling: well-tempered metadynamics with the empirical potential, merged into one pool.


rule sample:
    input:
        start="results/prototypes/{phase}_P{p}.extxyz",
    output:
        frames="results/sampling/{phase}/T{t}_P{p}_w{walker}.db",
        trace="results/sampling/{phase}/T{t}_P{p}_w{walker}.csv",
        plot=report(
            "results/sampling/{phase}/T{t}_P{p}_w{walker}.png",
            caption="../report/sampling_run.rst",
            category="2. Sampling",
            subcategory="{phase}",
        ),
    params:
        potential=config["potential"],
        sampling=sampling_run_settings(),
        supercell=sampling_supercell,
        seed=run_seed,
    log:
        "logs/sampling/{phase}/T{t}_P{p}_w{walker}.log",
    benchmark:
        "logs/benchmarks/sampling/{phase}/T{t}_P{p}_w{walker}.tsv"
    threads: 1
    resources:
        runtime="2h",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/sample.py"


rule pool:
    input:
        runs=sampling_runs(),
    output:
        frames="results/sampling/pool.db",
        extxyz="results/sampling/pool.extxyz",
        index=report(
            "results/sampling/pool_index.csv",
            caption="../report/pool_index.rst",
            category="2. Sampling",
        ),
        plot=report(
            "results/sampling/pool.png",
            caption="../report/pool.rst",
            category="2. Sampling",
        ),
    log:
        "logs/sampling/pool.log",
    benchmark:
        "logs/benchmarks/sampling/pool.tsv"
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/pool.py"
