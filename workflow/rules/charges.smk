# Effective charges: one Ewald pass at unit charges, then the training-free scan over q.


rule coulomb:
    input:
        dataset="results/dft/dataset.db",
    output:
        coulomb="results/charges/coulomb_q1.npz",
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
        plot=report(
            "results/charges/scan.png",
            caption="../report/charge_scan.rst",
            category="5. Effective charge",
        ),
        q_eff="results/charges/q_eff.json",
        residual="results/charges/residual_q_eff.extxyz",
    params:
        charges=config["charges"],
        seed=config["seed"],
    log:
        "logs/charges/scan.log",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/charge_scan.py"
