# Effective charges: frozen polar modulations (pw.x L and T cells, their extrapolated energy
# ratio), one Ewald pass at unit charges over the dataset, the learnability scan over q, the
# choice of q_eff (charges.method) with every estimator, and the plot.


rule lt_dft:
    input:
        eos=rules.eos_dft.output.frames.format(phase=lt_volume_phase()),
        pseudo=expand("results/dft/pseudo/{element}.UPF", element=list(config["potential"]["charges"])),
        structure=structure_file({"phase": role("polar_cubic")}),
    output:
        frames="results/charges/lt_dft.db",
        status="results/charges/lt_dft.status.json",
    params:
        dft=dft_calculation(),
        lt=config["charges"]["lt"],
        charges=config["potential"]["charges"],
        phase=role("polar_cubic"),
        structure=config["prototypes"]["structures"][role("polar_cubic")],
        volume_phase=lt_volume_phase(),
        workdir="results/charges/work",
    log:
        "logs/charges/lt_dft.log",
    benchmark:
        "logs/benchmarks/charges/lt_dft.tsv"
    threads: config["dft"]["tasks"]
    resources:
        tasks=config["dft"]["tasks"],
        runtime=config["dft"]["runtime"],
        mpi="srun",
    conda:
        "../../envs/qe.yaml"
    script:
        "../scripts/lt_dft.py"


rule dfpt:
    input:
        start=f"results/prototypes/{role('ground_state')}_P0.extxyz",
        eos=rules.eos_dft.output.frames.format(phase=role("ground_state")),
        pseudo=expand("results/dft/pseudo/{element}.UPF", element=list(config["potential"]["charges"])),
    output:
        result="results/charges/dfpt.json",
    params:
        dft=dft_calculation(),
        dfpt=config["charges"]["dfpt"],
        charges=config["potential"]["charges"],
        phase=role("ground_state"),
        workdir="results/charges/dfpt_work",
    log:
        "logs/charges/dfpt.log",
    benchmark:
        "logs/benchmarks/charges/dfpt.tsv"
    threads: config["dft"]["tasks"]
    resources:
        tasks=config["dft"]["tasks"],
        runtime=config["dft"]["runtime"],
        mpi="srun",
    conda:
        "../../envs/qe.yaml"
    script:
        "../scripts/dfpt.py"


rule lt:
    input:
        frames=rules.lt_dft.output.frames,
    output:
        table=report(
            "results/charges/lt.csv",
            caption="../report/lt_table.rst",
            category="5. Effective charge",
        ),
        result="results/charges/lt.json",
        plot=report(
            "results/charges/lt.png",
            caption="../report/lt.rst",
            category="5. Effective charge",
        ),
    params:
        lt=config["charges"]["lt"],
        charges=config["potential"]["charges"],
    log:
        "logs/charges/lt.log",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/lt.py"


rule coulomb:
    input:
        frames=rules.dft_dataset.output.dataset,
    output:
        coulomb="results/charges/coulomb_q1.npz",
    params:
        charges=config["potential"]["charges"],
    log:
        "logs/charges/coulomb.log",
    benchmark:
        "logs/benchmarks/charges/coulomb.tsv"
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/coulomb.py"


rule charge_scan:
    input:
        dataset=rules.dft_dataset.output.dataset,
        coulomb=rules.coulomb.output.coulomb,
    output:
        table=report(
            "results/charges/scan.csv",
            caption="../report/charge_scan_table.rst",
            category="5. Effective charge",
        ),
        learnability="results/charges/scan_learnability.json",
    params:
        scan=charge_scan_settings(),
        finetune=scan_finetune_settings(),
        charges=config["potential"]["charges"],
        seed=config["seed"],
    log:
        "logs/charges/scan.log",
    benchmark:
        "logs/benchmarks/charges/charge_scan.tsv"
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/charge_scan.py"


rule q_eff:
    input:
        lt=rules.lt.output.result,
        dfpt=rules.dfpt.output.result,
        scan=rules.charge_scan.output.table,
        learnability=rules.charge_scan.output.learnability,
        dataset=rules.dft_dataset.output.dataset,
        coulomb=rules.coulomb.output.coulomb,
    output:
        q_eff="results/charges/q_eff.json",
        residual="results/charges/residual_q_eff.extxyz",
    params:
        method=config["charges"]["method"],
    log:
        "logs/charges/q_eff.log",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/q_eff.py"


rule charge_scan_plot:
    input:
        table=rules.charge_scan.output.table,
        q_eff=rules.q_eff.output.q_eff,
    output:
        plot=report(
            "results/charges/scan.png",
            caption="../report/charge_scan.rst",
            category="5. Effective charge",
        ),
    params:
        epsilon_inf=config["charges"]["epsilon_inf"],
        bader_charge=config["charges"]["bader_charge"],
    log:
        "logs/charges/scan_plot.log",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/charge_scan_plot.py"
