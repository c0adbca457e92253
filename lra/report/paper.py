"""Published LRA numbers, shown beside ours and always labelled as paper numbers.

Source: the S4D paper's LRA table (Gu, Gupta, Goel, Ré, arXiv 2206.11893), as compiled in
shared/lra-reference.md §1.1 from the Annotated S4D image, Liquid-S4 Table 1 and Solozabal et al.
Table 1; the Transformer row is LRA's (Tay et al. 2020). Accuracy in %; FAIL (✗) = did not learn,
averaged as 50 like every S4-family paper.
"""

from __future__ import annotations

import tasks

TASKS = tuple(tasks.lra_tasks())  # the LRA table's columns, from the task registry
TITLES = {t: tasks.TASKS[t].SPEC.title for t in TASKS}
FAIL = "✗"
FAIL_SCORE = 50.0

S4D_PAPER = "S4D paper (arXiv 2206.11893), LRA table"
LRA_PAPER = "LRA paper (Tay et al. 2020)"
S4_PAPER = "S4 paper (ICLR 2022)"

# (model, source, {task: (mean, std or None) or FAIL}, the average the source states)
ROWS: list[tuple[str, str, dict, float]] = [
    ("S4-LegS", S4D_PAPER, {
        "listops": (59.60, 0.07), "text": (86.82, 0.13), "retrieval": (90.90, 0.15),
        "image": (88.65, 0.23), "pathfinder": (94.20, 0.25), "pathx": (96.35, None)}, 86.09),
    ("S4D-LegS", S4D_PAPER, {
        "listops": (60.47, 0.34), "text": (86.18, 0.43), "retrieval": (89.46, 0.14),
        "image": (88.19, 0.26), "pathfinder": (93.06, 1.24), "pathx": (91.95, None)}, 84.89),
    ("S4D-Inv", S4D_PAPER, {
        "listops": (60.18, 0.35), "text": (87.34, 0.20), "retrieval": (91.09, 0.01),
        "image": (87.83, 0.37), "pathfinder": (93.78, 0.25), "pathx": (92.80, None)}, 85.50),
    ("S4D-Lin", S4D_PAPER, {
        "listops": (60.52, 0.51), "text": (86.97, 0.23), "retrieval": (90.96, 0.09),
        "image": (87.93, 0.34), "pathfinder": (93.96, 0.60), "pathx": FAIL}, 78.39),
    ("S4 (original)", S4_PAPER, {
        "listops": (58.35, None), "text": (76.02, None), "retrieval": (87.09, None),
        "image": (87.26, None), "pathfinder": (86.05, None), "pathx": (88.10, None)}, 80.48),
    ("Transformer", LRA_PAPER, {
        "listops": (36.37, None), "text": (64.27, None), "retrieval": (57.46, None),
        "image": (42.44, None), "pathfinder": (71.40, None), "pathx": FAIL}, 53.66),
]


# The S4D paper's Table 9, sequential CIFAR (colour, full-size models): (model, (mean, std)).
# Source: lra-reference §1.2, from Liquid-S4 Table 3, which credits Table 9 of the S4D paper;
# Solozabal et al. Table 2 agrees.
SCIFAR_PAPER = "S4D paper (arXiv 2206.11893), Table 9"
SCIFAR_ROWS: list[tuple[str, tuple[float, float]]] = [
    ("S4-LegS", (91.80, 0.43)), ("S4-FouT", (91.22, 0.25)), ("S4-(LegS/FouT)", (91.58, 0.17)),
    ("S4D-LegS", (89.92, 1.69)), ("S4D-Inv", (90.69, 0.06)), ("S4D-Lin", (90.42, 0.03)),
]


def average(cells: dict) -> float | None:
    """Mean over the six tasks with ✗ counted as 50; None unless every task has a cell."""
    if any(t not in cells for t in TASKS):
        return None
    return sum(FAIL_SCORE if cells[t] == FAIL else cells[t][0] for t in TASKS) / len(TASKS)


# S4's published sanity checkpoints: (epoch, validation accuracy % reached by then), and the time
# per epoch with its GPU. Source: state-spaces/s4 `models/s4/experiments.md` (same at HEAD and
# v3.0.0; lra-reference §6), written for the S4 V3 configs. Plots draw them as marks.
SANITY: dict[str, tuple[int, float]] = {
    "listops": (10, 50.0), "text": (10, 80.0), "retrieval": (10, 80.0),
    "image": (20, 80.0), "pathfinder": (20, 90.0), "pathx": (10, 92.0),
}
EPOCH_TIME: dict[str, str] = {
    "listops": "15 min (T4)", "text": "17 min (T4)", "retrieval": "23 min (A100)",
    "image": "2 min (A100)", "pathfinder": "7 min (A100)", "pathx": "56 min (A100)",
}
SANITY_SOURCE = "S4 sanity check (state-spaces/s4 models/s4/experiments.md)"
