# Distillation: descriptors of every pool frame, then FPS (plain or stratified) or active
# distillation (distill.method).


rule describe:
    input:
        pool=rules.pool.output.frames,
    output:
        features="results/distill/features.npy",
    params:
        descriptors=config["model"]["descriptors"],
        elements=list(config["potential"]["charges"]),
    log:
        "logs/distill/describe.log",
    benchmark:
        "logs/benchmarks/distill/describe.tsv"
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/describe.py"


rule distill:
    input:
        pool=rules.pool.output.frames,
        features=rules.describe.output.features,
    output:
        pretrain="results/distill/pretrain.db",
        pretrain_extxyz="results/distill/pretrain.extxyz",
        shards=dft_shard_files(),
        selection=report(
            "results/distill/selection.csv",
            caption="../report/selection.rst",
            category="3. Distillation",
        ),
        map=report(
            "results/distill/map.png",
            caption="../report/distill_map.rst",
            category="3. Distillation",
        ),
        coverage=report(
            "results/distill/coverage.png",
            caption="../report/coverage.rst",
            category="3. Distillation",
        ),
        **active_distill_outputs(),
    params:
        distill=distill_params(),
        proxy=active_distill_proxy(),
    log:
        "logs/distill/distill.log",
    benchmark:
        "logs/benchmarks/distill/distill.tsv"
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/distill.py"
