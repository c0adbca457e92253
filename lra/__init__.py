"""The trainer: configs, training/eval loop, optimizer groups, run records, reports, CLI."""
