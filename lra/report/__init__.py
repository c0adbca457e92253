"""Results: tables and plots generated from run records only, beside the paper's numbers.

runs.py reads the records (result.json, failure.json or stopped.json, with config.json and
metrics.jsonl) into one row per run; tables.py builds the LRA table and the ablation tables
from those rows; plots.py draws the training curves; paper.py holds the published numbers;
write.py writes them all (`python -m lra report`). Imports go one way: paper, runs <- tables,
plots <- write.
"""
