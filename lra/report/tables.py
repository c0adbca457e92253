"""The tables, from the rows of lra/report/runs.py: the LRA table and the ablation tables.

Cells are mean ± sample std (ddof=1) over seeds with the seed count; test accuracy is the one at
the epoch of best validation accuracy. A run that did not learn (stuck at chance) or diverged
(failure.json) is ✗. Paper rows follow, labelled with their source. Ablation tables put side by
side the runs that differ only in the SSM choices the S4D paper ablates.
"""

from __future__ import annotations

import pandas as pd

from lra.report import paper
from lra.report.runs import ABLATION_KEYS, GROUP, named_models, scale, title
from models.choices import AXIS


def _cell(group: pd.DataFrame) -> tuple[str, float | None]:
    """'60.00 ± 2.00 (n=3)', '59.00 (n=1, 1 ✗)', '58.00 (n=2, 1 behind)' or '✗'; and the mean
    (None for ✗). "behind": seeds whose val accuracy fell below S4's sanity curve."""
    failed = int(group.failed.sum())
    if failed == len(group):
        return paper.FAIL, None
    v = group.test_accuracy[~group.failed]
    behind = int(group.behind_sanity[~group.failed].sum()) if "behind_sanity" in group else 0
    text = f"{v.mean():.2f}" + (f" ± {v.std(ddof=1):.2f}" if len(v) > 1 else "")
    count = (f"n={len(v)}" + (f", {failed} {paper.FAIL}" if failed else "")
             + (f", {behind} behind" if behind else ""))
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


def build_scifar_table(results: pd.DataFrame) -> pd.DataFrame:
    """sCIFAR: one row per model variant and scale of ours, then the paper's Table 9 rows."""
    rows = []
    ours = named_models(results)
    ours = ours[ours.task == "scifar"] if not ours.empty else ours
    if not ours.empty:
        for (model, *_), group in ours.groupby(["model", *GROUP], sort=True):
            rows.append({"Model": model, "Source": f"ours: {scale(group)}",
                         "sCIFAR": _cell(group)[0]})
    for model, (mean, std) in paper.SCIFAR_ROWS:
        rows.append({"Model": model, "Source": f"paper: {paper.SCIFAR_PAPER}",
                     "sCIFAR": f"{mean:.2f} ± {std:.2f}"})
    return pd.DataFrame(rows, columns=["Model", "Source", "sCIFAR"])


def reproducible(results: pd.DataFrame) -> pd.DataFrame:
    """Our runs that can claim to reproduce a paper number: a named model's full config as
    written (no changed keys), every planned epoch, on the release data (not generated)."""
    if results.empty:
        return results
    r = named_models(results)
    return r[(r.variant == "full") & (r.changes == "") & ~r.partial
             & ~r.data.str.startswith("generated")
             & (r.epochs_completed == r.epochs_planned)]


def verdicts(results: pd.DataFrame, papers: dict[str, dict]) -> pd.DataFrame:
    """For each model and task of reproducible(): our mean beside the paper's, Δ in points, and
    whether it lies within the paper's spread (± its std) or within 1 point.

    papers: {model: {task: (mean, std or None) or FAIL}}, the published numbers compared."""
    rows, runs = [], reproducible(results)
    for (model, task), group in (runs.groupby(["model", "task"], sort=True)
                                 if not runs.empty else ()):
        ref = papers.get(model, {}).get(task)
        if ref is None:
            continue
        text, mean = _cell(group)
        if mean is None or ref == paper.FAIL:
            rows.append({"Model": model, "Task": title(task), "Ours": text,
                         "Paper": paper.FAIL if ref == paper.FAIL else f"{ref[0]:.2f}",
                         "Δ": "–", "Verdict": "both ✗" if mean is None and ref == paper.FAIL
                         else "did not learn" if mean is None else "the paper's did not learn"})
            continue
        delta, (pm, ps) = mean - ref[0], ref
        verdict = ("within the paper's spread" if ps and abs(delta) <= ps
                   else "within 1 point" if abs(delta) <= 1.0
                   else f"{abs(delta):.2f} points {'below' if delta < 0 else 'above'}")
        rows.append({"Model": model, "Task": title(task), "Ours": text,
                     "Paper": f"{pm:.2f}" + (f" ± {ps:.2f}" if ps else ""),
                     "Δ": f"{delta:+.2f}", "Verdict": verdict})
    return pd.DataFrame(rows, columns=["Model", "Task", "Ours", "Paper", "Δ", "Verdict"])


def ablation_tables(results: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """One (title, table) per task and scale whose runs differ in the ablated SSM choices.

    Rows: A's initialisation (or the first choice that varies); columns: every combination of
    the other choices that vary. Only choices that vary are shown.
    """
    out = []
    if results.empty:
        return out
    for (task, *_), group in results.groupby(["task", *GROUP], sort=True):
        axes = [k for k in ABLATION_KEYS if group[k].astype(str).nunique() > 1]
        if not axes:
            continue
        row_axis, col_axes = axes[0], axes[1:]
        cells: dict[str, dict[str, str]] = {}  # row value -> column title -> cell
        ranks: dict[str, tuple] = {}  # column title -> its place in the paper's order
        for key, runs in group.groupby(axes, sort=False):
            key = tuple(map(str, key if isinstance(key, tuple) else (key,)))
            pairs = list(zip(col_axes, key[1:], strict=True))
            column = ", ".join(f"{AXIS[a].title} {v}" for a, v in pairs) or "accuracy"
            ranks[column] = tuple(AXIS[a].rank(v) for a, v in pairs)
            cells.setdefault(key[0], {})[column] = _cell(runs)[0]
        order = sorted(cells, key=AXIS[row_axis].rank)
        columns = sorted(ranks, key=ranks.__getitem__)
        table = pd.DataFrame(
            [{AXIS[row_axis].title: v, **{c: cells[v].get(c, "–") for c in columns}}
             for v in order],
            columns=[AXIS[row_axis].title, *columns],
        )
        ref = group.reference.iloc[0] if "reference" in group else None
        setting = f" (the setting of {ref})" if isinstance(ref, str) else ""
        out.append((f"{title(task)}: {scale(group)}{setting}", table))
    return out


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
averages the others; "1 behind" counts seeds whose validation accuracy fell below S4's sanity
curve at some epoch (README, Watching and evaluating runs), and a run that train.stop_when_stuck
ended early is ✗. Avg only where all six tasks have a number. Runs with an ablated SSM choice,
e.g. "S4D-Inv (zoh)", are in ablations.md, not here. Rows marked "paper" are published
numbers, not our runs. Rows marked "smoke" or "demo", or with changed keys ("with
train.epochs=5"), are not the paper's configuration, and "generated data" is our own generator's
output: neither is a reproduction of the paper. A Pathfinder difficulty other than the paper's
(curv_contour_length_14) is named in the Source. Rows "stopped early (partial)" are runs stopped
by a signal before their last epoch (stopped.json): their best epoch so far, not a result.
Generated by `python -m lra report` from run records; do not edit."""

ABLATION_NOTES = """\
Test accuracy (%) at the epoch of best validation accuracy, mean ± sample std over seeds (n); ✗ =
stuck at chance or diverged. Each table holds runs of one task at one scale that differ only in the
SSM choices the S4D paper ablates (init of A, discretisation, Re(A) transform, Δ transform, B);
only the choices that vary are shown. The S4D paper's own ablation numbers are not reproduced here:
lra-reference §1.2 could not find them. Generated by `python -m lra report`; do not edit."""


SCIFAR_NOTES = """\
Test accuracy (%) at the epoch of best validation accuracy; ours as mean ± sample std over seeds
(n = seeds), labelled with their scale as in the LRA table (lra_table.md). Rows marked "paper"
are the S4D paper's Table 9 (sequential colour CIFAR-10, full-size models; lra-reference §1.2),
mean (std). `full` is the Table 9 setting (lra/configs/scifar.py); `ablation` is the paper's
small ablation model, which has no published row. Generated by `python -m lra report`; do not
edit."""

VERDICT_NOTES = """\
Reproduction verdict: only runs of a named model's `full` config as written (no changed keys),
all planned epochs, on the release data (not generated) are compared. Δ = our mean − the
paper's mean, in points; "within the paper's spread" means |Δ| ≤ the paper's std over seeds."""
