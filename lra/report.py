"""Tables and plots generated from run records only (result.json, failure.json below a folder).

Our rows are grouped by (model, config variant with any changed keys, data source, epochs), so a
smoke or demo run, a shortened run, or a run on generated data can never pass for a reproduction
of the paper. Cells are mean ± sample std (ddof=1) over seeds with the seed count; test accuracy
is the one at the epoch of best validation accuracy. A run that did not learn (stuck at chance) or
diverged (failure.json) is ✗. Paper rows follow, labelled with their source. Ablation tables put
side by side the runs that differ only in the SSM choices the S4D paper ablates.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from lra import paper
from lra.build import ABLATION_KEYS
from lra.records import write_json


class ReportError(Exception):
    """No records where the user pointed."""


AXIS_TITLES = {"a_init": "init", "b_init": "B init", "disc": "disc", "real_transform": "Re(A)",
               "dt_transform": "Δ", "b_trainable": "B trainable"}


def _changes_label(changes: dict) -> str:
    """Changed config keys other than the seed and those the model name already says."""
    shown = {k: v for k, v in changes.items()
             if k.removeprefix("model.") not in ABLATION_KEYS}
    return ", ".join(f"{k}={v}" for k, v in sorted(shown.items()))


def load_results(runs_dir: str | Path) -> pd.DataFrame:
    """One row per run record below runs_dir: result.json, or failure.json of a failed run."""
    root = Path(runs_dir)
    if not root.is_dir():
        raise ReportError(f"runs folder {root} does not exist; train first (python -m lra train)")
    rows = []
    paths = sorted([*root.rglob("result.json"), *root.rglob("failure.json")])
    for path in paths:
        if path.name == "failure.json" and (path.parent / "result.json").exists():
            continue  # a run that failed, then was rerun to the end: the result counts
        r = json.loads(path.read_text())
        config = path.parent / "config.json"
        model_cfg = json.loads(config.read_text()).get("model", {}) if config.exists() else {}
        diverged = path.name == "failure.json"
        rows.append({
            "model": r["model"],
            "task": r["task"],
            "variant": r["variant"],
            "changes": _changes_label(r.get("config_changes", {})),
            "data": r["data"]["kind"] + _subset(r["data"]),
            "epochs_planned": r["epochs_planned"],
            "epochs_completed": r["epochs_completed"],
            "seed": r["seed"],
            "test_accuracy": math.nan if diverged else 100.0 * r["test_accuracy"],
            "failed": diverged or bool(r.get("stuck_at_chance", False)),
            "failure": r["error"] if diverged else
            ("stuck at chance" if r.get("stuck_at_chance") else ""),
            "majority_baseline_test": r.get("majority_baseline_test"),
            **{k: model_cfg.get(k) for k in ABLATION_KEYS},
            "record": str(path.relative_to(root)),
        })
    return pd.DataFrame(rows)


def _subset(data: dict) -> str:
    """A non-standard part of a task's data, named so it can never pass for the standard one."""
    difficulty = data.get("difficulty")
    return f" {difficulty}" if difficulty and difficulty != "curv_contour_length_14" else ""


def scale(group: pd.DataFrame) -> str:
    """'demo config, generated data, 12/12 epochs': at what scale a group of runs was made."""
    first = group.iloc[0]
    ok = group[~group.failed]
    done = sorted(set((ok if not ok.empty else group).epochs_completed))
    variant = f"{first.variant} config" + (f" with {first.changes}" if first.changes else "")
    return (f"{variant}, {first.data} data, "
            f"{','.join(map(str, done))}/{first.epochs_planned} epochs")


GROUP = ["variant", "changes", "data", "epochs_planned"]  # runs at the same scale


def named_models(results: pd.DataFrame) -> pd.DataFrame:
    """The runs of the paper's named models; ablated variants ("S4D-Inv (bilinear)") are left
    to the ablation tables."""
    return results[~results.model.str.contains("(", regex=False)] if not results.empty \
        else results


def _cell(group: pd.DataFrame) -> tuple[str, float | None]:
    """'60.00 ± 2.00 (n=3)', '59.00 (n=1, 1 ✗)' or '✗'; and the mean (None for ✗)."""
    failed = int(group.failed.sum())
    if failed == len(group):
        return paper.FAIL, None
    v = group.test_accuracy[~group.failed]
    text = f"{v.mean():.2f}" + (f" ± {v.std(ddof=1):.2f}" if len(v) > 1 else "")
    count = f"n={len(v)}" + (f", {failed} {paper.FAIL}" if failed else "")
    return f"{text} ({count})", float(v.mean())


def build_table(results: pd.DataFrame) -> pd.DataFrame:
    """Wide table: one row per model variant of ours, then the paper's rows."""
    rows = []
    if not results.empty:
        for (model, *_), group in named_models(results).groupby(["model", *GROUP], sort=True):
            row = {"Model": model, "Source": f"ours: {scale(group)}"}
            scores = {}
            for task in paper.TASKS:
                g = group[group.task == task]
                if g.empty:
                    row[paper.TITLES[task]] = "–"
                    continue
                text, mean = _cell(g)
                row[paper.TITLES[task]] = text
                scores[task] = paper.FAIL if mean is None else (mean, None)
            avg = paper.average(scores)
            row["Avg"] = "–" if avg is None else f"{avg:.2f}"
            rows.append(row)
    for model, source, cells, _stated in paper.ROWS:
        row = {"Model": model, "Source": f"paper: {source}"}
        for task in paper.TASKS:
            c = cells[task]
            row[paper.TITLES[task]] = (
                c if c == paper.FAIL else f"{c[0]:.2f}" + (f" ± {c[1]:.2f}" if c[1] else "")
            )
        row["Avg"] = f"{paper.average(cells):.2f}"
        rows.append(row)
    return pd.DataFrame(rows, columns=["Model", "Source", *paper.TITLES.values(), "Avg"])


def ablation_tables(results: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """One (title, table) per task and scale whose runs differ in the ablated SSM choices.

    Rows: A's initialisation (or the first choice that varies); columns: every combination of
    the other choices that vary. Only choices that vary are shown.
    """
    out = []
    if results.empty:
        return out
    known = results.dropna(subset=["a_init"])  # records without config.json cannot be placed
    for (task, *_), group in known.groupby(["task", *GROUP], sort=True):
        axes = [k for k in ABLATION_KEYS if group[k].astype(str).nunique() > 1]
        if not axes:
            continue
        row_axis, col_axes = axes[0], axes[1:]
        cells: dict[str, dict[str, str]] = {}  # row value -> column title -> cell
        ranks: dict[str, tuple] = {}  # column title -> its place in the paper's order
        for key, runs in group.groupby(axes, sort=False):
            key = tuple(map(str, key if isinstance(key, tuple) else (key,)))
            pairs = list(zip(col_axes, key[1:], strict=True))
            column = ", ".join(f"{AXIS_TITLES[a]} {v}" for a, v in pairs) or "accuracy"
            ranks[column] = tuple(_rank(a, v) for a, v in pairs)
            cells.setdefault(key[0], {})[column] = _cell(runs)[0]
        order = sorted(cells, key=lambda v: _rank(row_axis, v))
        columns = sorted(ranks, key=ranks.__getitem__)
        table = pd.DataFrame(
            [{AXIS_TITLES[row_axis]: v, **{c: cells[v].get(c, "–") for c in columns}}
             for v in order],
            columns=[AXIS_TITLES[row_axis], *columns],
        )
        out.append((f"{paper.TITLES.get(task, task)}: {scale(group)}", table))
    return out


# Each choice's values in the order the paper's ablations list them (unlisted ones last).
ORDER = {"a_init": ["legs", "inv", "lin", "real", "rand"], "b_init": ["auto", "hippo", "ones"],
         "disc": ["zoh", "bilinear", "dss"], "real_transform": ["exp", "relu", "none"],
         "dt_transform": ["exp", "softplus"], "b_trainable": ["True", "False"]}


def _rank(axis: str, value: str) -> tuple[int, str]:
    order = ORDER.get(axis, [])
    return (order.index(value) if value in order else len(order), value)


def to_markdown(table: pd.DataFrame) -> str:
    lines = [
        "| " + " | ".join(table.columns) + " |",
        "|" + "|".join("---" for _ in table.columns) + "|",
    ]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


_TEX = {"&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#", "±": r"$\pm$", "✗": r"$\times$",
        "–": "--", "Δ": r"$\Delta$", "·": r"$\cdot$"}


def _tex(text: object) -> str:
    return "".join(_TEX.get(ch, ch) for ch in str(text))


def to_latex(table: pd.DataFrame, caption: str) -> str:
    """A booktabs tabular in a table float (needs \\usepackage{booktabs})."""
    spec = "ll" + "c" * (len(table.columns) - 2) if "Source" in table.columns \
        else "l" + "c" * (len(table.columns) - 1)
    lines = [r"\begin{table}[t]", r"\centering", r"\small", rf"\caption{{{_tex(caption)}}}",
             rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(_tex(c) for c in table.columns) + r" \\", r"\midrule"]
    for row in table.itertuples(index=False):
        lines.append(" & ".join(_tex(v) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


NOTES = """\
Test accuracy (%) at the epoch of best validation accuracy; ours as mean ± sample std over seeds
(n = seeds). ✗ = did not learn: stuck at chance, or diverged (a failure.json record); averaged as
50 as in the S4 papers. A cell where some seeds failed counts them after n ("n=2, 1 ✗") and
averages the others. Avg only where all six tasks have a number. Runs with an ablated SSM choice,
e.g. "S4D-Inv (bilinear)", are in ablations.md, not here. Rows marked "paper" are published
numbers, not our runs. Rows marked "smoke" or "demo", or with changed keys ("with
train.epochs=5"), are not the paper's configuration, and "generated data" is our own generator's
output: neither is a reproduction of the paper. A Pathfinder difficulty other than the paper's
(curv_contour_length_14) is named in the Source. Generated by `python -m lra report` from run
records; do not edit."""

ABLATION_NOTES = """\
Test accuracy (%) at the epoch of best validation accuracy, mean ± sample std over seeds (n); ✗ =
stuck at chance or diverged. Each table holds runs of one task at one scale that differ only in the
SSM choices the S4D paper ablates (init of A, discretisation, Re(A) transform, Δ transform, B);
only the choices that vary are shown. The S4D paper's own ablation numbers are not reproduced here:
lra-reference §1.2 could not find them. Generated by `python -m lra report`; do not edit."""


def _slug(title: str) -> str:
    keep = "".join(ch if ch.isalnum() else "-" for ch in title.lower())
    return "-".join(p for p in keep.split("-") if p)[:80]


def write_report(runs_dir: str | Path, out_dir: str | Path) -> pd.DataFrame:
    """Writes every table and plot from the records below runs_dir into out_dir.

    lra_table.{md,csv,tex}, lra_runs.json (the records used), ablations.md plus one
    ablation_<slug>.{csv,tex} per ablation table, and plots/<task>.png. Files of an earlier report
    that the records no longer give are removed, so removing a record removes what it made.
    """
    from lra.plots import plot_curves

    results = load_results(runs_dir)
    table = build_table(results)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md = f"# LRA results\n\n{to_markdown(table)}\n\n{NOTES}\n"
    (out / "lra_table.md").write_text(md)
    table.to_csv(out / "lra_table.csv", index=False)
    (out / "lra_table.tex").write_text(
        "".join(f"% {line}\n" for line in NOTES.splitlines())
        + to_latex(table, "LRA test accuracy (%): ours as mean ± std over n seeds (Source gives "
                          "the scale of each run), then published numbers. ✗: did not learn, "
                          "averaged as 50."))
    listing = results.astype(object).where(results.notna(), None)  # NaN is not JSON: null
    write_json(out / "lra_runs.json", listing.to_dict(orient="records"))

    for old in [*out.glob("ablation_*.csv"), *out.glob("ablation_*.tex"), out / "ablations.md",
                *(out / "plots").glob("*.png")]:
        old.unlink(missing_ok=True)
    ablations = ablation_tables(results)
    if ablations:
        parts = ["# Ablations"]
        for title, t in ablations:
            slug = _slug(title)
            t.to_csv(out / f"ablation_{slug}.csv", index=False)
            (out / f"ablation_{slug}.tex").write_text(to_latex(t, f"Ablation, {title}."))
            parts.append(f"## {title}\n\n{to_markdown(t)}\n\nCSV: `ablation_{slug}.csv`, "
                         f"LaTeX: `ablation_{slug}.tex`")
        (out / "ablations.md").write_text("\n\n".join(parts) + f"\n\n{ABLATION_NOTES}\n")
    plot_curves(results, Path(runs_dir), out / "plots")
    return table
