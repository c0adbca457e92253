"""Tables from run records: aggregation, labelling, and the paper's averaging rule."""

import pandas as pd
import pytest

from lra.errors import ReportError
from lra.report import paper
from lra.report.runs import load_results
from lra.report.tables import ablation_tables, build_table, to_latex
from lra.report.write import write_report
from tests.lra.report.records import write_record


def test_paper_averages_recompute_to_the_stated_ones():
    # ✗ counts as 50: S4D-Lin -> 78.39, Transformer -> 53.66 (lra-reference §1.1, §7.1).
    for model, _, cells, stated in paper.ROWS:
        assert paper.average(cells) == pytest.approx(stated, abs=0.006), model


def test_table_groups_seeds_and_labels_scale(tmp_path):
    for seed, acc in [(0, 0.60), (1, 0.62), (2, 0.58)]:
        write_record(tmp_path, f"full{seed}", "listops", seed, acc)
    write_record(tmp_path, "smoke", "listops", 0, 0.3, variant="smoke", kind="generated")
    table = build_table(load_results(tmp_path)).set_index("Source")
    full = table.loc["ours: full config, release data, 40/40 epochs"]
    assert full["ListOps"] == "60.00 ± 2.00 (n=3)"
    assert full["Text"] == "–" and full["Avg"] == "–"
    smoke = table.loc["ours: smoke config, generated data, 40/40 epochs"]
    assert smoke["ListOps"] == "30.00 (n=1)"
    paper_rows = table[table.index.str.startswith("paper:")]
    assert len(paper_rows) == len(paper.ROWS)
    assert paper_rows[paper_rows.Model == "S4D-Lin"].iloc[0]["Path-X"] == "✗"


def test_an_easier_pathfinder_difficulty_is_named(tmp_path):
    write_record(tmp_path, "easy", "pathfinder", 0, 0.7, variant="demo", kind="generated",
                 data={"kind": "generated", "difficulty": "curv_baseline"})
    write_record(tmp_path, "hard", "pathfinder", 0, 0.9, kind="generated",
                 data={"kind": "generated", "difficulty": "curv_contour_length_14"})
    table = build_table(load_results(tmp_path)).set_index("Source")
    assert table.loc["ours: demo config, generated curv_baseline data, 40/40 epochs",
                     "Pathfinder"] == "70.00 (n=1)"
    assert table.loc["ours: full config, generated data, 40/40 epochs", "Pathfinder"] == \
        "90.00 (n=1)"


def test_all_six_tasks_give_an_average_and_failures_count_as_50(tmp_path):
    for task in paper.TASKS:
        write_record(tmp_path, task, task, 0, 0.9, stuck_at_chance=(task == "pathx"))
    row = build_table(load_results(tmp_path)).iloc[0]
    assert row["Path-X"] == "✗"
    assert row["Avg"] == f"{(5 * 90 + 50) / 6:.2f}"


def test_removing_a_record_changes_the_table(tmp_path):
    runs = tmp_path / "runs"
    write_record(runs, "a", "listops", 0, 0.5)
    b = write_record(runs, "b", "listops", 1, 0.7)
    write_report(runs, tmp_path / "out")
    assert "60.00 ± 14.14 (n=2)" in (tmp_path / "out" / "lra_table.md").read_text()
    b.unlink()
    write_report(runs, tmp_path / "out")
    md = (tmp_path / "out" / "lra_table.md").read_text()
    assert "50.00 (n=1)" in md and "(n=2)" not in md
    csv = pd.read_csv(tmp_path / "out" / "lra_table.csv")
    assert list(csv.columns) == ["Model", "Source", *paper.TITLES.values(), "Avg"]


def test_changed_keys_and_failed_seeds_are_shown(tmp_path):
    changes = {"train.epochs": 5, "model.disc": "zoh"}  # the model name already says disc
    for seed, acc in [(0, 0.5), (1, 0.7)]:
        write_record(tmp_path, f"s{seed}", "listops", seed, acc, config_changes=changes,
                     epochs_planned=5, epochs_completed=5)
    write_record(tmp_path, "s2", "listops", 2, None, config_changes=changes, epochs_planned=5,
                 failed="the loss was not finite at step 40")
    table = build_table(load_results(tmp_path))
    row = table.iloc[0]
    assert row["Source"] == "ours: full config with train.epochs=5, release data, 5/5 epochs"
    assert row["ListOps"] == "60.00 ± 14.14 (n=2, 1 ✗)"
    assert len(table) == 1 + len(paper.ROWS)


def test_ablation_runs_get_their_own_table(tmp_path):
    grid = [("inv", "zoh", 0.60), ("inv", "bilinear", 0.58), ("lin", "zoh", None),
            ("lin", "bilinear", 0.55)]
    for a_init, disc, acc in grid:
        for seed in (0, 1):
            name = f"S4D-{a_init.title()}" + ("" if disc == "bilinear" else f" ({disc})")
            write_record(tmp_path, f"{a_init}-{disc}-{seed}", "listops", seed,
                         acc and acc + seed / 100, model=name, variant="smoke",
                         ssm={"a_init": a_init, "disc": disc},
                         failed=None if acc else "diverged")
    results = load_results(tmp_path)
    (title, table), = ablation_tables(results)
    assert title == "ListOps: smoke config, release data, 40/40 epochs"
    assert list(table.columns) == ["init", "disc zoh", "disc bilinear"]
    cells = table.set_index("init")
    assert cells.loc["inv", "disc zoh"] == "60.50 ± 0.71 (n=2)"
    assert cells.loc["lin", "disc zoh"] == "✗"
    # The main table keeps the named models and leaves the ablated variants to their table.
    ours = build_table(results).Source.str.startswith("ours")
    assert sorted(build_table(results)[ours].Model) == ["S4D-Inv", "S4D-Lin"]
    # One SSM choice alone does not make an ablation.
    assert ablation_tables(results[(results.disc == "zoh") & (results.a_init == "inv")]) == []


def test_latex_escapes_and_is_one_tabular():
    table = pd.DataFrame([{"init": "inv_x", "acc": "60.00 ± 1.00 (n=2)", "b": "✗"}])
    tex = to_latex(table, "A 5% caption")
    assert r"inv\_x & 60.00 $\pm$ 1.00 (n=2) & $\times$ \\" in tex
    assert r"\caption{A 5\% caption}" in tex and r"\begin{tabular}{lcc}" in tex
    assert tex.count(r"\toprule") == tex.count(r"\bottomrule") == 1


def test_report_writes_every_table_and_plot_and_drops_what_a_removed_record_made(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "out"
    for disc in ("zoh", "bilinear"):
        write_record(runs, disc, "listops", 0, 0.6, variant="smoke",
                     model="S4D-Inv" + ("" if disc == "bilinear" else " (zoh)"),
                     ssm={"disc": disc}, val=[0.3, 0.5, 0.6], majority_baseline_test=0.17)
    write_record(runs, "pf", "pathfinder", 0, 0.7, ssm={}, val=[0.55, 0.7])
    write_report(runs, out)
    for name in ("lra_table.md", "lra_table.csv", "lra_table.tex", "lra_runs.json",
                 "ablations.md", "plots/listops.png", "plots/pathfinder.png"):
        assert (out / name).stat().st_size > 0, name
    assert "| disc | accuracy |" in (out / "ablations.md").read_text()
    png = (out / "plots" / "listops.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    (runs / "bilinear" / "result.json").unlink()  # the plot leaves out the ablated variant
    write_report(runs, out)
    assert not (out / "plots" / "listops.png").exists()
    assert not (out / "ablations.md").exists()  # one SSM choice left: nothing to compare
    (runs / "zoh" / "result.json").unlink()
    (runs / "pf" / "result.json").unlink()
    write_report(runs, out)
    assert not (out / "ablations.md").exists() and not list(out.glob("ablation_*"))
    assert not (out / "plots" / "pathfinder.png").exists()


def test_three_ablated_choices_give_init_rows_and_combined_columns(tmp_path):
    for a_init in ("lin", "legs"):
        for disc in ("dss", "zoh"):
            for real in ("relu", "exp"):
                write_record(tmp_path, f"{a_init}-{disc}-{real}", "listops", 0, 0.4,
                             model=f"S4D-{a_init} ({disc}, Re {real})",
                             ssm={"a_init": a_init, "disc": disc, "real_transform": real})
    (_, table), = ablation_tables(load_results(tmp_path))
    # Rows and columns in the paper's order of each choice, not the order the records were found.
    assert list(table["init"]) == ["legs", "lin"]
    assert list(table.columns[1:]) == ["disc zoh, Re(A) exp", "disc zoh, Re(A) relu",
                                       "disc dss, Re(A) exp", "disc dss, Re(A) relu"]


def test_named_models_come_from_the_config_not_the_name(tmp_path):
    # A record's display name cannot smuggle an ablated run into the LRA table.
    write_record(tmp_path, "a", "listops", 0, 0.6, model="S4D-Inv", ssm={"disc": "zoh"})
    write_record(tmp_path, "b", "listops", 0, 0.5, model="S4D-Inv")
    results = load_results(tmp_path)
    assert list(results.named) == [False, True]
    assert list(results.model) == ["S4D-Inv (zoh)", "S4D-Inv"]  # named from the config
    ours = build_table(results)
    assert list(ours[ours.Source.str.startswith("ours")]["ListOps"]) == ["50.00 (n=1)"]
    (tmp_path / "b" / "config.json").unlink()
    with pytest.raises(ReportError, match="b/result.json has no config.json beside it"):
        load_results(tmp_path)


def test_a_stopped_run_is_a_partial_row_until_it_finishes(tmp_path):
    import json

    path = write_record(tmp_path, "run", "listops", 0, 0.55)
    record = json.loads(path.read_text())
    path.unlink()
    stopped = {**record, "status": "stopped", "epochs_completed": 2, "history": [{}, {}]}
    (tmp_path / "run" / "stopped.json").write_text(json.dumps(stopped))
    ours = build_table(load_results(tmp_path)).iloc[0]
    assert ours["Source"] == ("ours: full config, release data, 2/40 epochs, stopped early "
                              "(partial)")
    assert ours["ListOps"] == "55.00 (n=1)"
    (tmp_path / "run" / "result.json").write_text(json.dumps(record))  # resumed and finished
    ours = build_table(load_results(tmp_path)).iloc[0]
    assert ours["Source"] == "ours: full config, release data, 40/40 epochs"
    (tmp_path / "run" / "result.json").unlink()
    (tmp_path / "run" / "stopped.json").write_text(json.dumps({**stopped, "history": []}))
    assert load_results(tmp_path).empty  # stopped before any epoch ended: nothing to show


def test_the_verdict_compares_only_full_runs_on_the_release_data(tmp_path):
    from lra.report.tables import verdicts

    runs = tmp_path / "runs"
    for seed, acc in enumerate((0.600, 0.602, 0.604)):  # mean 60.20: paper 60.18 ± 0.35
        write_record(runs, f"lo{seed}", "listops", seed, acc)
    write_record(runs, "text", "text", 0, 0.860)  # paper 87.34 ± 0.20
    write_record(runs, "img", "image", 0, 0.8700)  # paper 87.83 ± 0.37: 0.83 below
    write_record(runs, "gen", "pathfinder", 0, 0.94, kind="generated")  # not the release
    write_record(runs, "demo", "retrieval", 0, 0.91, variant="demo")  # not the full config
    write_record(runs, "short", "pathx", 0, 0.9, config_changes={"train.epochs": 5})
    write_record(runs, "partial", "pathx", 1, 0.9, epochs_completed=10)  # not all epochs
    papers = {m: cells for m, source, cells, _ in paper.ROWS if source == paper.S4D_PAPER}
    table = verdicts(load_results(runs), papers)
    assert table.Task.tolist() == ["Image", "ListOps", "Text"]
    rows = {r.Task: r for r in table.itertuples()}
    assert (rows["ListOps"].Δ, rows["ListOps"].Verdict) == ("+0.02", "within the paper's spread")
    assert rows["ListOps"].Paper == "60.18 ± 0.35" and rows["ListOps"].Ours == "60.20 ± 0.20 (n=3)"
    assert (rows["Image"].Δ, rows["Image"].Verdict) == ("-0.83", "within 1 point")
    assert (rows["Text"].Δ, rows["Text"].Verdict) == ("-1.34", "1.34 points below")


def test_the_scifar_table_sets_ours_beside_table_9(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "out"
    write_record(runs, "s0", "scifar", 0, 0.9065, kind="cifar-10-batches-py")
    write_record(runs, "s1", "scifar", 1, 0.9075, kind="cifar-10-batches-py")
    write_record(runs, "abl", "scifar", 0, 0.85, variant="ablation", kind="cifar-10-batches-py")
    write_report(runs, out)
    text = (out / "scifar_table.md").read_text()
    assert ("| S4D-Inv | ours: full config, cifar-10-batches-py data, 40/40 epochs | "
            "90.70 ± 0.07 (n=2) |") in text
    assert "| S4D-Inv | paper: S4D paper (arXiv 2206.11893), Table 9 | 90.69 ± 0.06 |" in text
    assert "| S4D-Inv | sCIFAR | 90.70 ± 0.07 (n=2) | 90.69 ± 0.06 | +0.01 | within the " \
           "paper's spread |" in text
    assert "ours: ablation config" in text  # shown, but not in the verdict
    assert text.count("| S4D-Inv | sCIFAR |") == 1  # one verdict row: the full config's
    for name in ("scifar_table.csv", "scifar_table.tex"):
        assert (out / name).stat().st_size > 0
    assert "no verdict" in (out / "lra_table.md").read_text()
