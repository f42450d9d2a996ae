# The two README commands: `make run` (set up, run the default campaign) and `make test`
# (set up, run the tests). Both start with the idempotent set-up.
VENV ?= .venv
SNAKEMAKE = $(VENV)/bin/snakemake
CORES ?= all

.PHONY: setup run test report dag clean
setup:
	bash scripts/setup.sh

run: setup
	$(SNAKEMAKE) --cores $(CORES)
	$(SNAKEMAKE) --cores $(CORES) --report results/report.zip

test: setup
	$(VENV)/bin/python -m pytest -ra --durations=15

report: run

dag: setup
	$(SNAKEMAKE) --dag | dot -Tpng > dag.png

clean:  # what the workflow wrote: results, logs, models (checkpoints included), snakemake state
	rm -rf results logs models .snakemake
