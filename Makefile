# lra-s4d: one make target per job. `make help` lists them.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
LRA := $(BIN)/python -m lra
DATA ?= data/lra_release
RUNS ?= runs
SEEDS ?= 2222
CONFIG ?= full
GEN ?= data/generated

.DEFAULT_GOAL := help
.PHONY: help install lock test lint data demo demo-pathfinder listops listops-smoke table bench clean

help:  ## List the targets.
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-15s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python  ## Create .venv/ and install the project with its pinned versions.
	$(BIN)/pip install -q -c requirements.lock -e '.[test]'

lock: $(BIN)/python  ## Rewrite requirements.lock from the current venv.
	{ head -2 requirements.lock; $(BIN)/pip freeze --exclude-editable; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

test:  ## Run the whole test suite on the CPU (minutes).
	$(BIN)/python -m pytest

lint:  ## Lint with ruff.
	$(BIN)/ruff check lra models tasks tests

data:  ## Generate the synthetic set in the release layout under GEN=: ListOps 96k/2k/2k, Pathfinder-32 and Path-X 200k each (Pathfinder 2.3 min, Path-X 9.5 min measured on 2 cores; reruns resume).
	$(LRA) data generate --task listops --out $(GEN)
	$(LRA) data generate --task pathfinder --resolution 32 --n 200000 --out $(GEN)
	$(LRA) data generate --task pathx --resolution 128 --n 200000 --out $(GEN)
	@echo "generated data: $(GEN) (train with DATA=$(GEN))"

demo:  ## No data, no network: generate small ListOps, train on the CPU, print the table (redoes runs/demo/).
	rm -rf $(RUNS)/demo
	$(LRA) data generate --task listops --out $(RUNS)/demo/data --train 6000 --val 1000 --test 1000 \
	  --min-length 20 --max-length 100 --max-depth 4 --seed 0
	$(LRA) train --task listops --config demo --data-dir $(RUNS)/demo/data \
	  --workdir $(RUNS)/demo/listops --seed 0
	$(LRA) report --runs $(RUNS)/demo --out $(RUNS)/demo
	@echo "demo records: $(RUNS)/demo/listops   table: $(RUNS)/demo/lra_table.md"

demo-pathfinder:  ## No data, no network: generate 20k easy Pathfinder-32 images, train S4D on the CPU (~25 min on 2 cores).
	rm -rf $(RUNS)/demo-pathfinder
	$(LRA) data generate --task pathfinder --resolution 32 --difficulty curv_baseline --n 20000 \
	  --seed 0 --out $(RUNS)/demo-pathfinder/data
	$(LRA) train --task pathfinder --config demo --data-dir $(RUNS)/demo-pathfinder/data \
	  --workdir $(RUNS)/demo-pathfinder/run --seed 0
	$(LRA) report --runs $(RUNS)/demo-pathfinder --out $(RUNS)/demo-pathfinder
	@echo "records: $(RUNS)/demo-pathfinder/run   table: $(RUNS)/demo-pathfinder/lra_table.md"

listops:  ## The S4D paper's ListOps run (CONFIG=full|smoke, DATA=..., SEEDS="...").
	@for s in $(SEEDS); do \
	  $(LRA) train --task listops --config $(CONFIG) --data-dir $(DATA) \
	    --workdir $(RUNS)/listops-$(CONFIG)-seed$$s --seed $$s || exit 1; \
	  echo "records: $(RUNS)/listops-$(CONFIG)-seed$$s"; done

listops-smoke:  ## A seconds-long ListOps run on the CPU (DATA must hold listops-1000/).
	$(MAKE) listops CONFIG=smoke

table:  ## Regenerate results/lra_table.{md,csv} from the run records in results/runs/.
	$(LRA) report --runs results/runs --out results

bench:  ## Speed and memory of the S4D layer, a 4-layer model and a training step (JSON lines).
	$(LRA) bench --out $(RUNS)/bench.jsonl

clean:  ## Remove caches and build leftovers (not runs/ or data/).
	rm -rf .pytest_cache .ruff_cache build *.egg-info
