"""`python -m lra report`: every table and plot, written from the run records alone."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lra.records import write_json
from lra.report import paper
from lra.report.plots import plot_curves
from lra.report.runs import load_results
from lra.report.tables import (
    ABLATION_NOTES,
    NOTES,
    SCIFAR_NOTES,
    VERDICT_NOTES,
    ablation_tables,
    build_scifar_table,
    build_table,
    to_latex,
    to_markdown,
    verdicts,
)


def _slug(title: str) -> str:
    keep = "".join(ch if ch.isalnum() else "-" for ch in title.lower())
    return "-".join(p for p in keep.split("-") if p)[:80]


def write_report(runs_dir: str | Path, out_dir: str | Path) -> pd.DataFrame:
    """Writes every table and plot from the records below runs_dir into out_dir.

    lra_table.{md,csv,tex} and scifar_table.{md,csv,tex} (each with the reproduction verdict),
    lra_runs.json (the records used), ablations.md plus one
    ablation_<slug>.{csv,tex} per ablation table, and plots/<task>.png. Files of an earlier report
    that the records no longer give are removed, so removing a record removes what it made.
    """
    results = load_results(runs_dir)
    table = build_table(results)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lra_papers = {m: cells for m, source, cells, _ in paper.ROWS if source == paper.S4D_PAPER}
    md = (f"# LRA results\n\n{to_markdown(table)}\n\n{NOTES}\n\n"
          f"{verdict_section(verdicts(results, lra_papers))}")
    (out / "lra_table.md").write_text(md)
    table.to_csv(out / "lra_table.csv", index=False)
    (out / "lra_table.tex").write_text(
        "".join(f"% {line}\n" for line in NOTES.splitlines())
        + to_latex(table, "LRA test accuracy (%): ours as mean ± std over n seeds (Source gives "
                          "the scale of each run), then published numbers. ✗: did not learn, "
                          "averaged as 50."))
    listing = results.drop(columns=["named", "partial"], errors="ignore")
    listing = listing.astype(object).where(listing.notna(), None)  # NaN is not JSON: null
    write_json(out / "lra_runs.json", listing.to_dict(orient="records"))

    write_scifar(results, out)
    for old in [*out.glob("ablation_*.csv"), *out.glob("ablation_*.tex"), out / "ablations.md",
                *(out / "plots").glob("*.png")]:
        old.unlink(missing_ok=True)
    write_ablations(results, out)
    plot_curves(results, Path(runs_dir), out / "plots")
    return table


def verdict_section(table: pd.DataFrame) -> str:
    """The reproduction verdict under a table, or the line saying there is none yet."""
    body = (to_markdown(table) if not table.empty else
            "No run yet is a named model's full config on the release data: no verdict.")
    return f"## Reproduction verdict\n\n{body}\n\n{VERDICT_NOTES}\n"


def write_scifar(results: pd.DataFrame, out: Path) -> None:
    """scifar_table.{md,csv,tex}: ours beside the S4D paper's Table 9, with the verdict."""
    table = build_scifar_table(results)
    papers = {m: {"scifar": cell} for m, cell in paper.SCIFAR_ROWS}
    (out / "scifar_table.md").write_text(
        f"# Sequential CIFAR results\n\n{to_markdown(table)}\n\n{SCIFAR_NOTES}\n\n"
        f"{verdict_section(verdicts(results, papers))}")
    table.to_csv(out / "scifar_table.csv", index=False)
    (out / "scifar_table.tex").write_text(to_latex(
        table, "Sequential CIFAR test accuracy (%): ours as mean ± std over n seeds, then the "
               "S4D paper's Table 9."))


def write_ablations(results: pd.DataFrame, out: Path) -> None:
    """ablations.md and one ablation_<slug>.{csv,tex} per table; nothing if there are none."""
    ablations = ablation_tables(results)
    if not ablations:
        return
    parts = ["# Ablations"]
    for title, t in ablations:
        slug = _slug(title)
        t.to_csv(out / f"ablation_{slug}.csv", index=False)
        (out / f"ablation_{slug}.tex").write_text(to_latex(t, f"Ablation, {title}."))
        parts.append(f"## {title}\n\n{to_markdown(t)}\n\nCSV: `ablation_{slug}.csv`, "
                     f"LaTeX: `ablation_{slug}.tex`")
    (out / "ablations.md").write_text("\n\n".join(parts) + f"\n\n{ABLATION_NOTES}\n")
