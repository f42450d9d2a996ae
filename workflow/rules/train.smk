# The NNP: A-Train on empirical labels, fine-tuning on DFT residuals at each charge.


rule pretrain:
    input:
        frames="results/distill/pretrain.db",
    output:
        model="models/pretrain.pt",
        history="results/train/pretrain_history.csv",
        curve=report(
            "results/train/pretrain_curve.png",
            caption="../report/learning_curve.rst",
            category="6. Training",
        ),
    params:
        model=config["model"],
        training=config["training"]["pretrain"],
        charges=config["potential"]["charges"],
        seed=config["seed"],
        checkpoints="models/checkpoints/pretrain",
    log:
        "logs/train/pretrain.log",
    benchmark:
        "logs/benchmarks/train/pretrain.tsv"
    threads: 1
    resources:
        runtime="12h",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/pretrain.py"


rule finetune:
    input:
        unpack(finetune_inputs),
    output:
        model="models/{start}_q{q}.pt",
        history="results/train/{start}_q{q}_history.csv",
        curve=report(
            "results/train/{start}_q{q}_curve.png",
            caption="../report/learning_curve.rst",
            category="6. Training",
        ),
    params:
        model=config["model"],
        training=config["training"]["finetune"],
        seed=config["seed"],
        checkpoints="models/checkpoints/{start}_q{q}",
    log:
        "logs/train/{start}_q{q}.log",
    benchmark:
        "logs/benchmarks/train/{start}_q{q}.tsv"
    threads: 1
    resources:
        runtime="12h",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/finetune.py"
