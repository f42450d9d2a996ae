# Refinement rounds (refine.rounds; none by default): round r explores with round r − 1's model
# in LAMMPS, labels with pw.x what its ensemble is unsure of, and fine-tunes on the union of the
# campaign's DFT data and every round's so far. Trust levels come from the one-shot model's
# calibration on the test split and the loading cells unless configured.


rule refine_trust:
    input:
        loading=expand(rules.loading_dft.output.frames, phase=loading_phases(config)),
        dataset=rules.dft_dataset.output.dataset,
        coulomb=rules.coulomb.output.coulomb,
        stress_check=rules.dft_stress_check.output.check,
        model="models/finetune_qeff.pt",  # the one-shot model, calibrated here
    output:
        trust="results/refine/trust.json",
        calibration="results/refine/trust_calibration.csv",
    params:
        low=config["refine"]["trust_low"],
        high=config["refine"]["trust_high"],
        max_error=config["refine"]["max_error_mev_per_atom"],
    log:
        "logs/refine/trust.log",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/refine_trust.py"


rule refine_explore:
    input:
        model=previous_model,
        trust=rules.refine_trust.output.trust,
        starts=refine_starts(),
        earlier=earlier_selections,
    output:
        frames="results/refine/round{r}/explored.db",
    params:
        settings=explore_settings(),
        potential=config["potential"],
        seed=lambda wildcards: config["seed"] + 1000 * int(wildcards.r),
    log:
        "logs/refine/round{r}_explore.log",
    benchmark:
        "logs/benchmarks/refine/round{r}_explore.tsv"
    threads: config["refine"]["threads"]
    resources:
        runtime=config["refine"]["runtime"],
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/refine_explore.py"


rule refine_select:
    input:
        frames=rules.refine_explore.output.frames,
        model=previous_model,
        trust=rules.refine_trust.output.trust,
    output:
        selected="results/refine/round{r}/selected.db",
        summary="results/refine/round{r}/selection.json",
        spread="results/refine/round{r}/spread.csv",
    params:
        budget=config["refine"]["budget"],
        converged_fraction=config["refine"]["converged_fraction"],
        descriptors=config["model"]["descriptors"],
        elements=list(config["potential"]["charges"]),
    log:
        "logs/refine/round{r}_select.log",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/refine_select.py"


rule refine_dft:
    input:
        shard=rules.refine_select.output.selected,
        pseudo=expand(rules.pseudopotential.output.upf, element=list(config["potential"]["charges"])),
    output:
        frames="results/refine/round{r}/dft.db",
        status="results/refine/round{r}/dft.status.json",
    params:
        dft=dft_calculation(),
        workdir="results/refine/work",
    log:
        "logs/refine/round{r}_dft.log",
    benchmark:
        "logs/benchmarks/refine/round{r}_dft.tsv"
    threads: config["dft"]["tasks"]
    resources:
        tasks=config["dft"]["tasks"],
        runtime=config["dft"]["runtime"],
        mpi="srun",
    conda:
        "../../envs/qe.yaml"
    script:
        "../scripts/relabel.py"


rule refine_train:
    input:
        dataset=rules.dft_dataset.output.dataset,
        coulomb=rules.coulomb.output.coulomb,
        stress_check=rules.dft_stress_check.output.check,
        rounds=round_dft_files,
        model=previous_model,
    output:
        model="models/refine_r{r}.pt",
        history="results/refine/round{r}/history.csv",
        curve=report(
            "results/refine/round{r}/curve.png",
            caption="../report/learning_curve.rst",
            category="10. Refine",
        ),
    params:
        training=lambda wildcards: {**config["train"]["finetune"], **config["refine"]["finetune"]},
        charges=config["potential"]["charges"],
        valid_fraction=config["refine"]["valid_fraction"],
        seed=config["seed"],
        checkpoints="models/checkpoints/refine_r{r}",
    log:
        "logs/refine/round{r}_train.log",
    benchmark:
        "logs/benchmarks/refine/round{r}_train.tsv"
    threads: config["refine"]["threads"]
    resources:
        runtime=config["refine"]["runtime"],
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/refine_train.py"


rule refine_report:
    input:
        summaries=expand("results/refine/round{r}/selection.json", r=range(1, config["refine"]["rounds"] + 1)),
        loading=rules.loading.output.metrics,
        metrics=rules.evaluate.output.metrics,
        costs=expand("logs/benchmarks/refine/round{r}_{step}.tsv", r=range(1, config["refine"]["rounds"] + 1),
                     step=["explore", "dft", "train"]),
        trust=rules.refine_trust.output.trust,
        # the final model's ramp, where the campaign has one (prototypes.roles.high_pressure)
        ramp="results/transition/nnp_trace.csv" if role("high_pressure") else [],
    output:
        table=report(
            "results/refine/rounds.csv",
            caption="../report/refine.rst",
            category="10. Refine",
        ),
        plot=report(
            "results/refine/rounds.png",
            caption="../report/refine.rst",
            category="10. Refine",
        ),
        ramp="results/refine/ramp_spread.json",
    log:
        "logs/refine/report.log",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/refine_report.py"
