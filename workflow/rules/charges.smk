# Effective charges: one Ewald pass at unit charges, the training-free scan over q, its plot.


rule coulomb:
    input:
        frames="results/dft/dataset.db",
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
        dataset="results/dft/dataset.db",
        coulomb="results/charges/coulomb_q1.npz",
    output:
        table=report(
            "results/charges/scan.csv",
            caption="../report/charge_scan_table.rst",
            category="5. Effective charge",
        ),
        q_eff="results/charges/q_eff.json",
        residual="results/charges/residual_q_eff.extxyz",
    params:
        scan=charge_scan_settings(),
        charges=config["potential"]["charges"],
        seed=config["seed"],
    log:
        "logs/charges/scan.log",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/charge_scan.py"


rule charge_scan_plot:
    input:
        table="results/charges/scan.csv",
        q_eff="results/charges/q_eff.json",
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
