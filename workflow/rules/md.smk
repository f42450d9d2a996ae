# MD with the final model: NVE drift and a compression run, with the ensemble spread.


rule md:
    input:
        model=final_model(),
        start=f"results/prototypes/{role('ground_state')}_P0.extxyz",
    output:
        summary="results/md/md_summary.json",
        nve="results/md/nve.csv",
        compression="results/md/compression.csv",
        plot=report(
            "results/md/md.png",
            caption="../report/md.rst",
            category="7. Evaluation",
        ),
    params:
        md=run_settings("md"),
        charges=config["potential"]["charges"],
        seed=config["seed"],
        cv_r0=config["sampling"]["metadynamics"]["cv_r0"],
    log:
        "logs/md/md.log",
    benchmark:
        "logs/benchmarks/md/md.tsv"
    threads: config["md"]["threads"]
    resources:
        runtime=config["md"]["runtime"],
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/md.py"
