# The campaign's effective config (results/config.yaml): what every stage below ran with.


localrules: effective_config


rule effective_config:
    """The campaign's validated config (default, campaign and user files merged, defaults
    filled): rewritten whenever any key changes, and shown in the report."""
    output:
        report("results/config.yaml", caption="../report/config.rst", category="0. Campaign"),
    params:
        config=config,
    log:
        "logs/effective_config.log",
    conda:
        "../../envs/ionnp.yaml"
    script:
        "../scripts/effective_config.py"
