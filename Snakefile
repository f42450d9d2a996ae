# ionnp: neural network potentials with effective charge separation for ionic solids.
# Wiring only (this file is parsed again for every cluster job): config, validation, the
# stage rules, and the default target. The physics lives in src/ionnp, one subpackage per stage.
import sys

from snakemake.utils import min_version

min_version("9.20")

sys.path.insert(0, f"{workflow.basedir}/src")
from ionnp.config import load_config

# The config stack: the embedded default (resolved against this file's directory, so it applies
# whatever --directory a campaign runs in), then each --configfile in order, then --config;
# merged as ionnp.config.merge_config does (a layer that gives the chemistry or the phases gives
# them whole), validated with every default filled before any job. Rule effective_config writes
# the result.
configfile: f"{workflow.basedir}/config/config.yaml"

layers = [f"{workflow.basedir}/config/config.yaml", *workflow.config_settings.configfiles]
config.clear()
config.update(load_config(*layers, overrides=dict(workflow.config_settings.config), basedir=workflow.basedir))

report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/config.smk"
include: "workflow/rules/prototypes.smk"
include: "workflow/rules/sampling.smk"
include: "workflow/rules/distill.smk"
include: "workflow/rules/dft.smk"
include: "workflow/rules/charges.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/md.smk"
include: "workflow/rules/eos.smk"
include: "workflow/rules/transition.smk"
include: "workflow/rules/loading.smk"
include: "workflow/rules/refine.smk"
include: "workflow/rules/deploy.smk"


rule all:
    default_target: True
    input:
        rules.enthalpy.output,
        rules.pool.output,
        rules.distill.output,
        rules.dft_dataset.output,
        rules.lt.output,
        rules.charge_scan.output,
        rules.q_eff.output,
        rules.charge_scan_plot.output,
        rules.evaluate.output,
        rules.md.output,
        rules.eos.output,
        rules.validation.output,
        rules.loading.output,
        # the refinement rounds' summary, where the config asks for rounds (refine.rounds)
        rules.refine_report.output if config["refine"]["rounds"] else [],
        # the ramp, where the campaign has a high-pressure phase (prototypes.roles.high_pressure)
        rules.transition_report.output if config["prototypes"]["roles"]["high_pressure"] else [],
        rules.effective_config.output,
        rules.deploy.output,
