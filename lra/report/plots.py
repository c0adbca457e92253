"""Training curves from run records: validation accuracy by epoch, one PNG per task.

Each run is one line (its seed in the legend of its group); runs at the same scale share a colour.
S4's published sanity checkpoints (lra/report/paper.py SANITY, lra-reference §6) are drawn as
marks, and the majority-class rate of the test split as a dotted line. Drawn with matplotlib's
object API (one Figure per plot, no pyplot): no global backend to switch, no figure left open.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from lra.report import paper
from lra.report.runs import GROUP, named_models, scale, title, val_curve

MAX_LEGEND = 12  # groups; an ablation sweep's dozens of lines are drawn without one


def plot_task(task: str, runs: pd.DataFrame, runs_dir: Path, out: Path) -> Path | None:
    """Writes out (a PNG) for one task's runs; None when no run has validation rows."""
    fig = figure(task, runs, runs_dir)
    if fig is None:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out


def figure(task: str, runs: pd.DataFrame, runs_dir: Path) -> Figure | None:
    """The validation curves of one task's runs; None when no run has validation rows."""
    fig = Figure(figsize=(7.5, 4.5), dpi=120)
    ax = fig.subplots()
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    groups = list(runs.groupby(["model", *GROUP], sort=True))
    drawn = 0
    for i, ((model, *_), group) in enumerate(groups):
        colour = colours[i % len(colours)]
        for j, run in enumerate(group.sort_values("seed").itertuples()):
            epochs, acc = val_curve(runs_dir / Path(run.record).parent)
            if not epochs:
                continue
            label = f"{model}, {scale(group)}" if j == 0 and len(groups) <= MAX_LEGEND else None
            ax.plot(epochs, acc, marker="o", ms=3, lw=1.2, color=colour, label=label,
                    ls="--" if run.failed else "-")
            drawn += 1
    if not drawn:
        return None
    if task in paper.SANITY:
        epoch, acc = paper.SANITY[task]
        ax.plot([epoch], [acc], marker="*", ms=14, color="black", ls="none",
                label=f"{paper.SANITY_SOURCE}: {acc:.0f}% by epoch {epoch}")
    majority = runs.majority_baseline_test.dropna()
    if not majority.empty:
        ax.axhline(100.0 * majority.max(), color="grey", ls=":", lw=1,
                   label="majority class (test split)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_title(f"{title(task)}: validation accuracy by epoch"
                 + ("" if len(groups) <= MAX_LEGEND else f" ({len(groups)} configurations)"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def plot_curves(results: pd.DataFrame, runs_dir: Path, out_dir: Path) -> list[Path]:
    """One PNG per task with records: out_dir/<task>.png.

    As in the LRA table, only the paper's named models are drawn; the ablated variants
    ("S4D-Inv (zoh)") are in the ablation tables, and dozens of them would bury the rest.
    """
    written = []
    results = named_models(results)
    for task, runs in ([] if results.empty else results.groupby("task", sort=True)):
        path = plot_task(task, runs, runs_dir, out_dir / f"{task}.png")
        if path:
            written.append(path)
    return written
