"""Training curves: what each plot draws, read back from the figure, and the files written."""

import subprocess
import sys

import numpy as np
from PIL import Image

from lra.report import paper
from lra.report.plots import figure, plot_curves
from lra.report.runs import load_results
from tests.lra.report.records import write_record


def test_the_figure_draws_every_run_the_sanity_mark_and_the_majority_rate(tmp_path):
    for seed, val in [(0, [0.55, 0.8, 0.91]), (1, [0.5, 0.7])]:
        write_record(tmp_path, f"s{seed}", "pathfinder", seed, 0.9, val=val,
                     majority_baseline_test=0.496)
    write_record(tmp_path, "none", "pathfinder", 2, 0.9)  # no metrics.jsonl: nothing to draw
    fig = figure("pathfinder", load_results(tmp_path), tmp_path)
    (ax,) = fig.axes
    curves = [line for line in ax.lines if line.get_marker() == "o"]
    for line, want in zip(curves, [[55, 80, 91], [50, 70]], strict=True):
        np.testing.assert_allclose(line.get_ydata(), want)
    assert [list(line.get_xdata()) for line in curves] == [[1, 2, 3], [1, 2]]
    assert curves[0].get_color() == curves[1].get_color()  # one scale, one colour
    (star,) = [line for line in ax.lines if line.get_marker() == "*"]
    assert (list(star.get_xdata()), list(star.get_ydata())) == ([20], [90.0])
    assert paper.SANITY["pathfinder"] == (20, 90.0)
    (majority,) = [line for line in ax.lines if line.get_linestyle() == ":"]
    np.testing.assert_allclose(majority.get_ydata(), [49.6, 49.6])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "S4D-Inv, full config, release data, 40/40 epochs"
    assert ax.get_title() == "Pathfinder: validation accuracy by epoch"


def test_a_failed_run_is_dashed_and_a_task_without_curves_has_no_plot(tmp_path):
    write_record(tmp_path, "ok", "listops", 0, 0.6, val=[0.3, 0.6])
    write_record(tmp_path, "bad", "listops", 1, None, val=[0.2], failed="diverged")
    write_record(tmp_path, "text", "text", 0, 0.8)
    results = load_results(tmp_path)
    listops = figure("listops", results[results.task == "listops"], tmp_path)
    styles = [line.get_linestyle() for line in listops.axes[0].lines if line.get_marker() == "o"]
    assert sorted(styles) == ["-", "--"]
    assert figure("text", results[results.task == "text"], tmp_path) is None
    written = plot_curves(results, tmp_path, tmp_path / "plots")
    assert written == [tmp_path / "plots" / "listops.png"]
    with Image.open(written[0]) as im:
        assert im.size == (900, 540)  # 7.5 x 4.5 inches at 120 dpi
        assert len(np.unique(np.asarray(im.convert("L")))) > 10  # drawn, not blank


def test_plotting_touches_no_global_matplotlib_state():
    # Figures come from matplotlib's object API: pyplot (its global backend and figure list)
    # is never imported.
    code = ("import sys; from lra.report import write; "
            "print('matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
