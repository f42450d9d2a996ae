# The unseen-loading test: strained cells of the loaded phases (relaxed with the empirical
# potential, rattled), pw.x on them, every model's errors along the paths, and the calibration of
# the final model's ensemble spread against its true error (test split and loading cells).


rule loading_cells:
    input:
        start="results/prototypes/{phase}_P0.extxyz",
    output:
        cells="results/loading/{phase}_cells.db",
    params:
        loading=loading_cell_settings,
        potential=config["potential"],
        seed=phase_seed,
    log:
        "logs/loading/{phase}_cells.log",
    benchmark:
        "logs/benchmarks/loading/{phase}_cells.tsv"
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/loading_cells.py"


rule loading_dft:
    input:
        shard=rules.loading_cells.output.cells,
        pseudo=expand(rules.pseudopotential.output.upf, element=list(config["potential"]["charges"])),
    output:
        frames="results/loading/{phase}_dft.db",
        status="results/loading/{phase}_dft.status.json",
    params:
        dft=dft_calculation(),
        workdir="results/loading/work",
    log:
        "logs/loading/{phase}_dft.log",
    benchmark:
        "logs/benchmarks/loading/{phase}_dft.tsv"
    threads: config["dft"]["tasks"]
    resources:
        tasks=config["dft"]["tasks"],
        runtime=config["dft"]["runtime"],
        mpi="srun",
    conda:
        "../../envs/qe.yaml"
    script:
        "../scripts/relabel.py"


rule loading:
    input:
        dft=expand(rules.loading_dft.output.frames, phase=loading_phases(config)),
        dataset=rules.dft_dataset.output.dataset,
        coulomb=rules.coulomb.output.coulomb,
        stress_check=rules.dft_stress_check.output.check,
        models=model_files(),
    output:
        metrics=report(
            "results/loading/metrics.csv",
            caption="../report/loading_metrics.rst",
            category="9. Loading",
        ),
        curves="results/loading/stress_strain.csv",
        stress_strain=report(
            "results/loading/stress_strain.png",
            caption="../report/stress_strain.rst",
            category="9. Loading",
        ),
        calibration="results/loading/calibration.csv",
        correlations=report(
            "results/loading/calibration_summary.csv",
            caption="../report/calibration.rst",
            category="9. Loading",
        ),
        calibration_plot=report(
            "results/loading/calibration.png",
            caption="../report/calibration.rst",
            category="9. Loading",
        ),
    params:
        paths=dict(sorted(config["loading"]["paths"].items())),
        # the models whose spread is calibrated: the one-shot fine-tune and each round's
        calibrated=[model_name(m) for m in ["models/finetune_qeff.pt", *refined_models()]],
    log:
        "logs/loading/loading.log",
    benchmark:
        "logs/benchmarks/loading/loading.tsv"
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/loading.py"
