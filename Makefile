# The two README commands: `make run` (set up, run the default campaign) and `make test`
# (set up, run the tests). Both start with the idempotent set-up.
VENV ?= .venv
SNAKEMAKE = $(VENV)/bin/snakemake
CORES ?= all

.PHONY: setup run test validate report dag clean
setup:
	bash scripts/setup.sh

run: setup
	$(SNAKEMAKE) --cores $(CORES)
	$(SNAKEMAKE) --cores $(CORES) --report results/report.zip

test: setup
	$(VENV)/bin/python -m pytest -ra --durations=15

# The validation campaign (config/validation.yaml over the default; ~2-2.5 h on 2 cores) in
# validation/: resumable (rerun after an interruption: finished DFT is reused), ends with
# validation/results/validation.md.
validate: setup
	$(SNAKEMAKE) --cores $(CORES) --directory validation --configfile config/validation.yaml
	$(SNAKEMAKE) --cores $(CORES) --directory validation --configfile config/validation.yaml \
		--report $(CURDIR)/validation/results/report.zip

report: run

dag: setup
	$(SNAKEMAKE) --dag | dot -Tpng > dag.png

clean:  # what the workflow wrote: results, logs, models (checkpoints included), snakemake state, validation/
	rm -rf results logs models .snakemake validation
