"""What `lra bench --tune` measured, as the table a device's defaults are chosen from.

`python -m lra bench --tune-table FILE` prints one row per task's step and one column per set
the record holds (convolution path, dtype, XLA flags), each cell the step's median ms and its
change against the step a run takes by default: model.conv=auto's path (the faster float32
convolution, here read off the record), float32, XLA's own flags. The convolution paths are the
same map (tests/models), so auto already takes the faster; bfloat16 changes the numbers a run
computes, and an XLA flag may (it changes the kernels XLA picks), so those two are the
choices the table informs. No JAX here: it reads a record.
"""

from __future__ import annotations

from lra.errors import ConfigError


def label(row: dict) -> str:
    """'fft float32' or 'fft float32, --xla_...': what a step row was measured under."""
    flags = row.get("xla_flags", "")
    return f"{row['conv']} {row['dtype']}" + (f", `{flags}`" if flags else "")


def is_default(row: dict) -> bool:
    return row["dtype"] == "float32" and not row.get("xla_flags")


def table(rows: list[dict], where: str) -> list[str]:
    """The record's step rows as a markdown table, one row per set and one column per task's
    step (module docstring), then a line for each set that failed; a record without step rows
    is a one-line error naming it."""
    steps = [r for r in rows if r.get("bench") == "step" and "median_ms" in r]
    if not steps:
        raise ConfigError(f"{where}: no step rows; pass a file `lra bench --tune --out` wrote")
    env = next((r for r in rows if r.get("bench") == "env"), {})
    sets = list(dict.fromkeys(label(r) for r in steps))
    tasks = list(dict.fromkeys((r["task"], r["batch"]) for r in steps))
    ms = {(r["task"], r["batch"], label(r)): r["median_ms"] for r in steps}
    ref = {}
    for r in steps:  # the default: the faster float32 path under XLA's own flags
        key = (r["task"], r["batch"])
        if is_default(r) and r["median_ms"] < ref.get(key, float("inf")):
            ref[key] = r["median_ms"]
    lines = [f"Device: {env.get('device', {}).get('kind', '?')}, commit "
             f"{env.get('commit', '?')[:7]}{' (dirty)' if env.get('dirty') else ''}; ms per "
             "step, and its change against the default (auto's float32 path, XLA's flags).", "",
             "| set | " + " | ".join(f"{t} (batch {b})" for t, b in tasks) + " |",
             "|---" * (len(tasks) + 1) + "|"]
    for s in sets:
        lines.append(f"| {s} | " + " | ".join(_cell(ms.get((*t, s)), ref.get(t))
                                              for t in tasks) + " |")
    fastest = [min((s for s in sets if (*t, s) in ms), key=lambda s: ms[(*t, s)]) for t in tasks]
    lines.append("| fastest | " + " | ".join(fastest) + " |")
    lines += [f"- failed: {r['task']} under {r['set']}: {r['failed']}" for r in rows
              if r.get("bench") == "step" and "failed" in r]
    return lines


def _cell(ms: float | None, ref: float | None) -> str:
    if ms is None:
        return "-"
    if ref is None or ms == ref:
        return f"{ms:,.0f}"
    return f"{ms:,.0f} ({100 * (ms / ref - 1):+.1f}%)"
