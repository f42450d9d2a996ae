# Equations of state: pw.x at fixed-shape volumes of each polymorph, Birch-Murnaghan fits of DFT,
# the final NNP and the empirical potential, and the transition pressures.


rule eos_dft:
    input:
        start="results/prototypes/{phase}_P0.extxyz",
        pseudo=expand("results/dft/pseudo/{element}.UPF", element=list(config["potential"]["charges"])),
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
        points="results/eos/eos_points.csv",
        fits=report(
            "results/eos/eos.csv",
            caption="../report/eos_table.rst",
            category="7. Evaluation",
        ),
        transitions=report(
            "results/eos/transitions.csv",
            caption="../report/transitions.rst",
            category="7. Evaluation",
        ),
        plot=report(
            "results/eos/eos.png",
            caption="../report/eos.rst",
            category="7. Evaluation",
        ),
    params:
        eos=config["eos"],
        potential=config["potential"],
    log:
        "logs/eos/eos.log",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/eos.py"


rule dft_stress_check:
    input:
        dft=expand("results/eos/{phase}_dft.db", phase=config["eos"]["phases"]),
    output:
        check="results/eos/dft_stress_check.json",
    params:
        threshold_gpa=config["dft"]["max_stress_offset_gpa"],
        pulay_correction=config["dft"]["pulay_correction"],
    log:
        "logs/eos/dft_stress_check.log",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/dft_stress_check.py"
