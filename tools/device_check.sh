#!/usr/bin/env bash
# The device check on a machine with an accelerator and its own JAX (tools/device_check.py says
# what it measures): tools/device_check.sh [SECTIONS] [OUT] [--export DIR]
# (SECTIONS: quick, train, tune, plan, all = quick,train, or several joined by commas; default: all;
# OUT default: runs/device-check)
#
# The project is installed there without its dependencies (the machine's jax, flax, optax,
# orbax-checkpoint, pandas, matplotlib, tqdm and pillow are used as they are); where even that
# cannot build offline, the checkout itself is put on the path.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c "import lra.cli" 2>/dev/null; then
  "$PY" -m pip install -q --no-deps --no-build-isolation -e . 2>/dev/null \
    || export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
"$PY" -c "import jax; print('jax', jax.__version__, jax.devices())"
exec env PYTHONUNBUFFERED=1 "$PY" tools/device_check.py "${1:-all}" "${2:-runs/device-check}" \
  "${@:3}"
