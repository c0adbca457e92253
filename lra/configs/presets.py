"""The S4D paper's named models, and the name of any model in the tables.

A preset gives every ablated SSM choice (models/choices.py AXES) a value; the choices it leaves
out keep SSMOptions' defaults (exp real-part and step transforms, trainable B). A run is of a
named model when its choices equal a preset's, with b_init='auto' resolved first; any other run is
named after its nearest preset with its departures listed, e.g. 'S4D-Inv (zoh, Re relu)',
so an ablation never shares a table row with S4D-Inv. Names compare configs, never parse strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from models.choices import A_INIT_NAMES, A_INIT_TITLES, AXES, SSMOptions, resolve_b_init

_DEFAULTS = {a.key: getattr(SSMOptions(), a.key) for a in AXES}

# (lra-reference §1.1) The S4D variants differ only in A's initialisation, with B HiPPO's for
# LegS and all ones otherwise (b_init=auto), discretised bilinearly as S4 v3.0.0, the code of
# the paper's numbers, does by default (docs/fidelity.md §3). 'dss' is DSS-exp (Gupta, Gu,
# Berant): LegS's normal-part eigenvalues, B folded into C (ones), and the exponential-sum
# discretisation normalised over the length.
PRESETS: dict[str, dict[str, Any]] = {
    **{f"s4d-{a}": {**_DEFAULTS, "a_init": a, "b_init": "auto", "disc": "bilinear"}
       for a in A_INIT_NAMES},
    "dss": {**_DEFAULTS, "a_init": "legs", "b_init": "ones", "disc": "dss"},
}
TITLES = {**{f"s4d-{a}": name for a, name in A_INIT_NAMES.items()}, "dss": "DSS"}


def overrides(preset: str) -> list[str]:
    """The `model.KEY=VALUE` assignments that apply a preset, for the choices it sets."""
    return [f"model.{k}={v}" for k, v in PRESETS[preset].items() if k in ("a_init", "b_init",
                                                                            "disc")]


def _choices(model: Any) -> dict[str, Any]:
    """The ablated choices of a ModelConfig or of a config.json 'model' dict, b_init resolved."""
    get = model.get if isinstance(model, Mapping) else lambda k, d=None: getattr(model, k, d)
    out = {a.key: get(a.key, _DEFAULTS[a.key]) for a in AXES}
    out["b_init"] = resolve_b_init(out["b_init"], out["a_init"])
    return out


def named_model(model: Any) -> str | None:
    """The preset a model is ('s4d-inv', ..., 'dss'), or None for an ablated variant."""
    mine = _choices(model)
    return next((p for p, c in PRESETS.items() if _choices(c) == mine), None)


def model_name(model: Any) -> str:
    """The row label of a table: 'S4D-Inv', 'DSS', or 'S4D-LegS (zoh, Re relu)'.

    The base is the preset that agrees on init, discretisation and B (DSS), else S4D-<init>;
    every other choice that differs from the base is listed, in AXES order."""
    mine = _choices(model)
    identity = ("a_init", "disc", "b_init")
    base = next((p for p, c in PRESETS.items()
                 if all(_choices(c)[k] == mine[k] for k in identity)), f"s4d-{mine['a_init']}")
    # An init without a preset (inv2, quad) lists its departures from S4D-Inv's other choices.
    ref = _choices(PRESETS.get(base, {**PRESETS["s4d-inv"], "a_init": mine["a_init"]}))
    extra = [a.name(mine[a.key]) for a in AXES if a.key != "a_init" and mine[a.key] != ref[a.key]]
    title = TITLES.get(base, A_INIT_TITLES.get(mine["a_init"], f"S4D-{mine['a_init']}"))
    return title + (f" ({', '.join(extra)})" if extra else "")
