# lra-s4d: one make target per job. `make help` lists them.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
LRA := $(BIN)/python -m lra
DATA ?= data/lra_release
RUNS ?= runs
SEEDS ?= 0 1 2
CONFIG ?= full
MODEL ?= s4d-inv
# `make ablation`: the S4D paper's ablation setting, sCIFAR's `ablation` config (lra/configs/scifar.py);
# TASK= and CONFIG= on the command line choose another task and config.
TASK ?= scifar
ABLATION_CONFIG = $(if $(filter command line environment,$(origin CONFIG)),$(CONFIG),ablation)
GEN ?= data/generated
# The accelerator JAX is installed for: cpu (the default), cuda12, cuda13 or tpu. The JAX extra
# is taken at the locked JAX version, so the accelerator build matches what CI tests.
ACCEL ?= cpu
ACCELS := cpu cuda12 cuda13 tpu
JAX_VERSION := $(shell sed -n 's/^jax==//p' requirements.lock)
STAMP := $(VENV)/.installed
# JAX's CUDA plugin without its CUDA libraries, apart from the venv's packages: XLA's GPU compiler
# for `lra train --plan-for GPU` on any machine (lra/plan.py), which alone adds the folder to
# its path; in the venv itself JAX would try to start CUDA in every process.
CUDA_PLAN := $(VENV)/cuda-plan
CUDA_PLAN_INSTALL = $(BIN)/pip install -q --no-deps --upgrade --target $(CUDA_PLAN) \
	  'jax-cuda12-plugin==$(JAX_VERSION)' 'jax-cuda12-pjrt==$(JAX_VERSION)' \
	  && touch $(CUDA_PLAN)/.installed
# The task registry (tasks/__init__.py) is the one list of tasks: every task gets a target and a
# -smoke target; `make lra` runs the six LRA tasks. The list is written into $(TASKS_MK) from the
# registry (with the venv made first on a fresh clone), and re-made when the registry changes.
TASKS_MK := $(VENV)/tasks.mk
ifneq ($(filter-out help install lock clean device-check test-latest,$(or $(MAKECMDGOALS),help)),)
include $(TASKS_MK)
endif
# Where sweeps run (lra/launch.py): serial (one after another here), local (JOBS at once here, one
# per GPU), slurm (a job array; SWEEP_OPTS="--partition P --time MIN ..."), or submitit-local.
LAUNCHER ?= serial
JOBS ?=
SWEEP_OPTS ?=
LAUNCH := --launcher $(LAUNCHER) $(if $(JOBS),--jobs $(JOBS)) $(SWEEP_OPTS)
# The S4D paper's ablation axes: its five named initialisations x every discretisation x every
# real-part transform (models/choices.py). S4 v3.0.0's further laws (inv2, quad) and the random
# and scaled parts are choices too: GRID="--grid model.a_init=all ..." adds them.
GRID ?= --grid model.a_init=legs,inv,lin,real,rand --grid model.disc=all \
	--grid model.real_transform=all

.DEFAULT_GOAL := help
.PHONY: help install lock test test-latest lint data demo demo-pathfinder lra ablation table bench \
	device-check tensorboard clean $(TASKS) $(TASKS:%=%-smoke)

help:  ## List the targets.
	@grep -E '^[a-zA-Z_$$(%:)-]+:.*## ' $(MAKEFILE_LIST) \
	  | sed -e 's/^$$(TASKS:%=%-smoke)/TASK-smoke/' -e 's/^$$(TASKS)/TASK/' \
	  | awk '{i = index($$0, "## "); n = $$0; sub(/:.*/, "", n); \
	          printf "  %-15s %s\n", n, substr($$0, i + 3)}'
	@if [ -x $(BIN)/python ]; then echo "  TASK is one of: $$($(LRA) tasks --names)"; \
	  $(BIN)/python -c "from lra.configs import MODELS; print('  MODEL is one of:', *MODELS)"; \
	  else echo "  TASK, MODEL: listed once the venv exists (any target but help makes it)"; fi
	@echo "  variables: DATA=$(DATA) RUNS=$(RUNS) SEEDS=\"$(SEEDS)\" MODEL=$(MODEL) CONFIG=$(CONFIG) ACCEL=$(ACCEL)"

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

ifeq ($(filter $(ACCEL),$(ACCELS)),)
$(error ACCEL=$(ACCEL): choose one of $(ACCELS))
endif

install: | $(BIN)/python  ## Install the project and its locked versions into .venv/; ACCEL=cuda12|cuda13|tpu adds JAX's build for that accelerator.
	$(BIN)/pip install -q -c requirements.lock -e '.[test]' \
	  $(if $(filter-out cpu,$(ACCEL)),'jax[$(ACCEL)]==$(JAX_VERSION)')
	$(CUDA_PLAN_INSTALL)
	touch $(STAMP)

# A venv made before the plugin's folder existed gets it for the tests (tests/lra/test_plan.py).
$(CUDA_PLAN)/.installed: requirements.lock | $(BIN)/python
	$(CUDA_PLAN_INSTALL)

# Every target that runs Python depends on the stamp: on a fresh clone it makes the venv first.
$(STAMP): pyproject.toml requirements.lock | $(BIN)/python
	$(MAKE) install

$(TASKS_MK): tasks/__init__.py $(STAMP)
	{ echo "TASKS := $$($(LRA) tasks --names)"; \
	  echo "LRA_TASKS := $$($(LRA) tasks --names --lra)"; } > $@

lock: | $(BIN)/python  ## Rewrite requirements.lock from the current venv.
	{ head -2 requirements.lock; $(BIN)/pip freeze --exclude-editable; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

# Test processes (pytest-xdist): 2 fits the 2-core CI machine; each holds a JAX, so not one per core.
TEST_JOBS ?= 2
test: $(STAMP) $(CUDA_PLAN)/.installed  ## Run the whole test suite on the CPU (about 7 min on 2 cores; TEST_JOBS=2 processes).
	$(BIN)/python -m pytest -n $(TEST_JOBS)

# What `make test-latest` runs: the model, the trainer end to end with resume, checkpoints, the
# optimiser, the dry run, model.conv=auto, XLA's cost analysis, the persistent compile cache (its
# counts read JAX's monitoring events) and the tables: where a new jax, flax, optax or orbax
# would break.
FAST_TESTS := tests/models tests/lra/test_train.py tests/lra/test_resume.py \
	tests/lra/test_checkpoint.py tests/lra/test_optim.py tests/lra/test_dryrun.py \
	tests/lra/test_choose.py tests/lra/test_roofline.py tests/lra/test_compile_cache.py \
	tests/lra/report tests/tasks/test_base.py
LATEST := .venv-latest
test-latest:  ## A second venv (.venv-latest) with the newest releases the registry serves, past our caps; runs a fast subset of the tests.
	test -x $(LATEST)/bin/python || $(PY) -m venv $(LATEST)
	$(LATEST)/bin/pip install -q --upgrade pip
	$(LATEST)/bin/pip install -q --upgrade jax jaxlib flax optax orbax-checkpoint numpy pandas \
	  matplotlib pillow tqdm tensorflow-datasets tensorboardX pytest ruff import-linter
	$(LATEST)/bin/pip install -q --no-deps -e .
	@$(LATEST)/bin/python -c "import importlib.metadata as m; print('newest:', *(f'{p} {m.version(p)}' \
	  for p in ('jax', 'jaxlib', 'flax', 'optax', 'orbax-checkpoint', 'numpy', 'pandas')))"
	$(LATEST)/bin/python -m pytest $(FAST_TESTS)

lint: $(STAMP)  ## Lint with ruff, and check the import layers and that there is no import cycle.
	$(BIN)/ruff check lra models tasks tests
	$(BIN)/lint-imports

data: $(STAMP)  ## Generate the synthetic set in the release layout under GEN=: ListOps 96k/2k/2k, Pathfinder-32 and Path-X 200k each (Pathfinder 2.3 min, Path-X 9.5 min measured on 2 cores; reruns resume).
	$(LRA) data generate --task listops --out $(GEN)
	$(LRA) data generate --task pathfinder --resolution 32 --n 200000 --out $(GEN)
	$(LRA) data generate --task pathx --resolution 128 --n 200000 --out $(GEN)
	@echo "generated data: $(GEN) (train with DATA=$(GEN))"

demo: $(STAMP)  ## No data, no network, ~14 min on 2 CPU cores: generated ListOps and Pathfinder-32, trained, tabled, plotted (redoes runs/demo/).
	rm -rf $(RUNS)/demo
	$(LRA) data generate --task listops --out $(RUNS)/demo/data --train 6000 --val 1000 --test 1000 \
	  --min-length 20 --max-length 100 --max-depth 4 --seed 0
	$(LRA) train --task listops --config demo --data-dir $(RUNS)/demo/data \
	  --workdir $(RUNS)/demo/runs/listops --seed 0
	$(LRA) data generate --task pathfinder --resolution 32 --difficulty curv_baseline --n 20000 \
	  --seed 0 --out $(RUNS)/demo/data
	$(LRA) train --task pathfinder --config demo --data-dir $(RUNS)/demo/data \
	  --workdir $(RUNS)/demo/runs/pathfinder --seed 0 --set train.epochs=2
	$(LRA) report --runs $(RUNS)/demo/runs --out $(RUNS)/demo
	@echo "demo records: $(RUNS)/demo/runs/   tables: $(RUNS)/demo/lra_table.md   plots: $(RUNS)/demo/plots/"

demo-pathfinder: $(STAMP)  ## Longer CPU demo: 20k easy Pathfinder-32 images, 4 epochs (~20 min on 2 cores).
	rm -rf $(RUNS)/demo-pathfinder
	$(LRA) data generate --task pathfinder --resolution 32 --difficulty curv_baseline --n 20000 \
	  --seed 0 --out $(RUNS)/demo-pathfinder/data
	$(LRA) train --task pathfinder --config demo --data-dir $(RUNS)/demo-pathfinder/data \
	  --workdir $(RUNS)/demo-pathfinder/runs/pathfinder --seed 0
	$(LRA) report --runs $(RUNS)/demo-pathfinder/runs --out $(RUNS)/demo-pathfinder
	@echo "records: $(RUNS)/demo-pathfinder/runs/   table: $(RUNS)/demo-pathfinder/lra_table.md"

$(TASKS): $(STAMP)  ## One task's paper config for every seed: make TASK [DATA= SEEDS= MODEL= CONFIG=full LAUNCHER=serial|local|slurm]
	$(LRA) sweep --task $@ --config $(CONFIG) --model $(MODEL) --seeds $(SEEDS) \
	  --data-dir $(DATA) --runs $(RUNS) $(LAUNCH)

$(TASKS:%=%-smoke): $(STAMP)  ## The same in seconds with the tiny smoke config (checks data and set-up), e.g. make text-smoke
	$(LRA) sweep --task $(@:%-smoke=%) --config smoke --model $(MODEL) --seeds $(SEEDS) \
	  --data-dir $(DATA) --runs $(RUNS)

lra: $(LRA_TASKS)  ## All six LRA tasks (days on one GPU; LAUNCHER=slurm: one job array per task; README, Running on a cluster).

ablation: $(STAMP)  ## The paper's ablation grid (init x disc x Re(A)) in its setting, sCIFAR's ablation config [TASK= CONFIG= GRID= LAUNCHER=]
	$(LRA) sweep --task $(TASK) --config $(ABLATION_CONFIG) --seeds $(SEEDS) --data-dir $(DATA) \
	  --runs $(RUNS) $(GRID) $(LAUNCH)

table: $(STAMP)  ## Regenerate every table and plot in results/ (LRA, sCIFAR, ablations, verdicts) from the run records in results/runs/.
	$(LRA) report --runs results/runs --out results

bench: $(STAMP)  ## Speed and memory of the S4D layer, a 4-layer model and a training step (JSON lines).
	$(LRA) bench --out $(RUNS)/bench.jsonl

device-check:  ## On a machine with an accelerator and its own JAX (no venv): bench, dry runs, two short trainings, into OUT=runs/device-check (SECTION=quick|train|tune|all or a comma list, all ~8 min on one H200).
	tools/device_check.sh $(or $(SECTION),all) $(or $(OUT),runs/device-check)

tensorboard: $(STAMP)  ## Live dashboard over every run under RUNS= (each run's tensorboard/ and profile/ folders).
	$(BIN)/tensorboard --logdir $(RUNS) --bind_all

clean:  ## Remove caches and build leftovers (not runs/ or data/).
	rm -rf .pytest_cache .ruff_cache build *.egg-info $(LATEST)
