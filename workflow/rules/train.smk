# The NNP: A-Train at each charge on the empirical residual, fine-tuning on DFT residuals.


rule pretrain_coulomb:
    input:
        frames=rules.distill.output.pretrain,
    output:
        coulomb="results/train/pretrain_coulomb_q1.npz",
    params:
        charges=config["potential"]["charges"],
    log:
        "logs/train/pretrain_coulomb.log",
    benchmark:
        "logs/benchmarks/train/pretrain_coulomb.tsv"
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/coulomb.py"


rule pretrain:
    input:
        unpack(pretrain_inputs),
    output:
        model="models/pretrain_q{q}.pt",
        history="results/train/pretrain_q{q}_history.csv",
        curve=report(
            "results/train/pretrain_q{q}_curve.png",
            caption="../report/learning_curve.rst",
            category="6. Train",
        ),
    params:
        model=config["model"],
        training=config["train"]["pretrain"],
        charges=config["potential"]["charges"],
        seed=config["seed"],
        checkpoints="models/checkpoints/pretrain_q{q}",
    log:
        "logs/train/pretrain_q{q}.log",
    benchmark:
        "logs/benchmarks/train/pretrain_q{q}.tsv"
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
            category="6. Train",
        ),
    params:
        model=config["model"],
        training=config["train"]["finetune"],
        charges=config["potential"]["charges"],
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
