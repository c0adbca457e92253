"""`python -m lra ...`: a thin shell over the library. Bad input ends in a one-line error, exit 2.

  python -m lra data generate --task listops --out DIR [--train N --val N --test N
                              --min-length N --max-length N --max-depth N --max-args N --seed S]
  python -m lra data generate --task pathfinder|pathx --out DIR [--resolution 32|64|128|256
                              --difficulty D --n N --seed S --workers W --per-batch B]
  python -m lra data show --task pathfinder|pathx --out FILE.png [--data-dir DIR | --seed S]
                          [--resolution R --difficulty D --n N]
  python -m lra data check --task TASK --data-dir DIR [--strict]
  python -m lra train --task TASK --config smoke|demo|full --data-dir DIR --workdir DIR
                      [--model s4d-inv|s4d-legs|...] [--seed S] [--set key=value ...] [--resume]
  python -m lra train --task TASK --config C --dry-run [--data-dir DIR] [--json] [...]
  python -m lra train --task TASK --config C --plan-for GPU[:N] [--json] [...]
  python -m lra sweep --task TASK --config C --data-dir DIR --runs DIR [--seeds S ...]
                      [--model M] [--grid key=v1,v2,... ...] [--set key=value ...]
                      [--launcher serial|local|slurm|submitit-local] [--jobs N] [--shard I/N]
                      [--partition P --gpus-per-task G --time MIN --parallel K ...] [--status]
  python -m lra evaluate --workdir DIR [--checkpoint best|latest|STEP] [--split val|test|train]
                         [--data-dir DIR] [--set data.KEY=VALUE ...] [--out FILE]
  python -m lra predict --workdir DIR --out FILE.csv [--split S] [--checkpoint C] [--data-dir DIR]
  python -m lra report --runs DIR --out DIR
  python -m lra bench [--quick] [--device] [--tune] [--pathx] [--out FILE] | --roofline FILE
                      | --tune-table FILE | --dryrun-table FILE
                      | --plan-table FILE [--against DRYRUN_FILE]
  python -m lra config --task TASK [--config C --model M --set key=value ...]
  python -m lra tasks [--names [--lra]]

Each command imports what it needs when it runs: `--help` and the data commands load neither
jax nor orbax.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from lra.errors import USER_ERRORS, ConfigError, DataError, Interrupted


def _generate(args: argparse.Namespace) -> None:
    if args.task == "listops":
        _generate_listops(args)
    else:
        _generate_pathfinder(args)


def _generate_listops(args: argparse.Namespace) -> None:
    from tasks.generators import listops

    total = args.train + args.val + args.test
    with tqdm(total=total, desc="listops", unit="ex", disable=None) as bar:
        try:
            folder = listops.generate(
                args.out, train=args.train, val=args.val, test=args.test,
                min_length=args.min_length, max_length=args.max_length, max_depth=args.max_depth,
                max_args=args.max_args, seed=args.seed, progress=bar.update,
            )
        except ValueError as e:
            raise ConfigError(str(e)) from None
    print(f"wrote {total:,} ListOps examples to {folder}")


def _resolution(args: argparse.Namespace) -> int:
    return args.resolution or (128 if args.task == "pathx" else 32)


def _generate_pathfinder(args: argparse.Namespace) -> None:
    from tasks.generators import pathfinder

    R = _resolution(args)
    with tqdm(total=args.n, desc=f"pathfinder{R}/{args.difficulty}", unit="img",
              disable=None) as bar:
        try:
            summary = pathfinder.generate(
                args.out, resolution=R, difficulty=args.difficulty, n=args.n, seed=args.seed,
                per_batch=args.per_batch, workers=args.workers, progress=bar.update,
            )
        except ValueError as e:
            raise ConfigError(str(e)) from None
    rate = summary["images_per_s_per_worker"]
    print(f"wrote {summary['written']:,} images to {summary['folder']}"
          + (f" ({summary['skipped']:,} already there)" if summary["skipped"] else "")
          + (f" in {summary['seconds']:.1f} s, {rate:.0f} images/s per worker "
             f"({summary['workers']} workers)" if rate else ""))


def _show(args: argparse.Namespace) -> None:
    from lra.datashow import show

    path = show(args.task, args.out, data_dir=args.data_dir, resolution=_resolution(args),
                difficulty=args.difficulty, n=args.n, seed=args.seed)
    print(f"wrote {path}")


def _check(args: argparse.Namespace) -> None:
    from lra.datacheck import check

    lines, mismatches = check(args.task, args.data_dir)
    print("\n".join(lines))
    if mismatches and args.strict:
        raise DataError("split sizes differ from the LRA release: " + "; ".join(mismatches)
                        + ". Is this the complete release? (--strict)")
    print("ok" + (" (split sizes differ from the release's; --strict makes that an error)"
                  if mismatches else ""))


def _train(args: argparse.Namespace) -> None:
    from lra.configs import get_config
    from lra.distributed import initialize

    overrides = list(args.set or [])
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    cfg = get_config(args.task, args.config, overrides, model=args.model)
    if args.plan_for:
        return _plan(cfg, args)
    if not args.dry_run:
        for flag in ("data_dir", "workdir"):
            if getattr(args, flag) is None:
                raise ConfigError(f"train needs --{flag.replace('_', '-')} (--dry-run does not)")
    initialize()  # joins the other processes of a multi-host run (SLURM, TPU, LRA_COORDINATOR)
    if args.dry_run:
        return _dry_run(cfg, args)
    from lra import compile_cache
    from lra.train import train_and_evaluate

    compile_cache.enable()  # not for the dry run: it reports the compile time
    train_and_evaluate(cfg, args.workdir, args.data_dir, resume=args.resume)


def _dry_run(cfg, args: argparse.Namespace) -> None:
    import json

    from lra.dryrun import dry_run, report

    result = dry_run(cfg, data_dir=args.data_dir, steps=args.dry_run_steps)
    print(json.dumps(result) if args.json else "\n".join(report(result)))


def _plan(cfg, args: argparse.Namespace) -> None:
    import json

    from lra import plan

    target = plan.target(args.plan_for)
    plan.host_only()  # before JAX starts: this machine's CPU runs, the GPU is only compiled for
    result = plan.plan(cfg, target)
    print(json.dumps(result) if args.json else "\n".join(plan.report(result)))


def _sweep(args: argparse.Namespace) -> None:
    from lra.distributed import initialize
    from lra.launch import Cluster
    from lra.sweep import plan, shard, summary, sweep

    if args.status:
        summary(shard(plan(args.task, args.config, args.runs, args.seeds, args.model, args.grid),
                      args.shard))
        return
    if args.data_dir is None:
        raise ConfigError("sweep needs --data-dir (--status does not)")
    if args.launcher == "serial":  # the runs are made here; other launchers' runs are `lra train`
        from lra import compile_cache

        initialize()
        compile_cache.enable()
    cluster = Cluster(partition=args.partition, gpus_per_task=args.gpus_per_task,
                      time_min=args.time, parallel=args.parallel,
                      cpus_per_task=args.cpus_per_task, mem=args.mem,
                      setup=tuple(args.slurm_setup or ()), options=tuple(args.slurm_opt or ()))
    sweep(args.task, args.config, args.data_dir, args.runs, args.seeds, model=args.model,
          grid=args.grid, overrides=args.set, launcher=args.launcher, jobs=args.jobs,
          part=args.shard, cluster=cluster, wait=args.wait)


def _evaluate(args: argparse.Namespace) -> None:
    from lra import compile_cache
    from lra.evaluate import evaluate_run

    compile_cache.enable()
    r = evaluate_run(args.workdir, checkpoint=args.checkpoint, split=args.split,
                     data_dir=args.data_dir, data_sets=list(args.set or []), out=args.out)
    same = "" if r["logged_accuracy"] is None else (
        " (= the logged accuracy)" if r["accuracy"] == r["logged_accuracy"]
        else f" (logged: {r['logged_accuracy']:.4f})")
    print(f"{r['split']} accuracy {r['accuracy']:.4f}{same}, loss {r['loss']:.4f}, "
          f"{r['count']:,} examples, checkpoint {r['checkpoint']} (step {r['step']}, "
          f"{r['epochs_trained']} epochs); wrote {r['path']}")


def _predict(args: argparse.Namespace) -> None:
    from lra import compile_cache
    from lra.evaluate import predict

    compile_cache.enable()
    path = predict(args.workdir, args.out, checkpoint=args.checkpoint, split=args.split,
                   data_dir=args.data_dir, data_sets=list(args.set or []))
    print(f"wrote {path}")


def _report(args: argparse.Namespace) -> None:
    from lra.report.tables import to_markdown
    from lra.report.write import write_report

    table = write_report(args.runs, args.out)
    print(to_markdown(table))
    print(f"\nwrote {args.out}/lra_table.md and lra_table.csv")


def _bench(args: argparse.Namespace) -> None:
    if args.against and not args.plan_table:
        raise ConfigError("--against DRYRUN_FILE sets dry runs beside plans: give --plan-table "
                          "FILE too")
    if args.roofline:
        from lra.roofline import table

        print("\n".join(table(read_bench(args.roofline, "--roofline"))))
        return
    if args.dryrun_table:
        from lra import targets

        print("\n".join(targets.table(read_bench(args.dryrun_table, "--dryrun-table",
                                                  made_by="`python -m lra train ... --dry-run "
                                                          "--json`"), args.dryrun_table)))
        return
    if args.tune_table:
        from lra import tuning

        print("\n".join(tuning.table(read_bench(args.tune_table, "--tune-table"),
                                      args.tune_table)))
        return
    if args.plan_table:
        from lra import plan_table

        made_by = "`python -m lra train ... --plan-for GPU --json`"
        plans = read_bench(args.plan_table, "--plan-table", made_by)
        lines = plan_table.table(plans, args.plan_table)
        if args.against:
            dry = read_bench(args.against, "--against", "`python -m lra train ... --dry-run "
                             "--json`")
            lines += ["", *plan_table.against(plans, dry, args.against)]
        print("\n".join(lines))
        return
    from lra.bench import run  # starts JAX: the tables above need none

    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)  # `make bench` on a fresh clone
        with open(args.out, "w") as f:
            def both(line):
                print(line, flush=True)
                f.write(line + "\n")
                f.flush()  # a run cut short keeps every line it measured

            run(quick=args.quick, pathx=args.pathx, device=args.device, tune=args.tune,
                out=both)
    else:
        run(quick=args.quick, pathx=args.pathx, device=args.device, tune=args.tune,
            out=lambda line: print(line, flush=True))


def read_bench(path: str, option: str, made_by: str = "`lra bench --out`") -> list[dict]:
    """A record's JSON lines; a missing file or a line that is not JSON is a one-line error."""
    import json

    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ConfigError(f"{option} {path}: {e.strerror}; pass a file {made_by} wrote") from None
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            raise ConfigError(f"{path}, line {number}: not a JSON line; pass a file {made_by} "
                              "wrote") from None
    return rows


def _config(args: argparse.Namespace) -> None:
    from lra.configs import get_config
    from lra.configs.common import describe

    cfg = get_config(args.task, args.config, list(args.set or []), model=args.model)
    rows = describe(cfg)
    width = max(len(f"{k} = {v!r}") for k, v, _ in rows)
    for key, value, doc in rows:
        print(f"{f'{key} = {value!r}':<{width}}  # {doc}")


def _tasks(args: argparse.Namespace) -> None:
    import tasks

    names = tasks.lra_tasks() if args.lra else list(tasks.TASKS)
    if args.names:
        print(" ".join(names))
        return
    for name in names:
        spec = tasks.TASKS[name].SPEC
        kind = f"vocabulary {spec.vocab_size}" if spec.vocab_size else f"{spec.in_dim} channel(s)"
        print(f"{name:<11} {spec.title:<11} {spec.num_classes:>2} classes, length "
              f"{spec.max_length:>6,}, {kind}{', pairs' if spec.paired else ''}"
              f"{', LRA' if spec.lra else ''}")


def _pathfinder_args(p) -> None:
    from tasks.generators.pathfinder import DIFFICULTIES, RESOLUTIONS

    p.add_argument("--resolution", type=int, choices=sorted(RESOLUTIONS),
                   help="image side (default: 32 for pathfinder, 128 for pathx)")
    p.add_argument("--difficulty", default="curv_contour_length_14", choices=list(DIFFICULTIES),
                   help="contour length 6, 9 or 14 (S4 and S5 train on 14)")


def _launch_args(w) -> None:
    from lra.launch import LAUNCHERS

    w.add_argument("--launcher", default="serial", choices=LAUNCHERS,
                   help="serial: one run after another here; local: --jobs runs at once here; "
                        "slurm: a job array; submitit-local: the slurm path on this machine")
    w.add_argument("--jobs", type=int, help="local: runs at once (default: one per GPU, or 1)")
    w.add_argument("--shard", metavar="I/N", help="only the I-th of N slices of the runs "
                   "(1 <= I <= N), for launching a sweep from any other scheduler")
    w.add_argument("--status", action="store_true",
                   help="print where each run stands (finished, failed, stuck, running, "
                        "stopped, not started) and launch nothing")
    w.add_argument("--wait", action="store_true", help="slurm: wait for the job array to end")
    s = w.add_argument_group("slurm (and submitit-local)")
    s.add_argument("--partition", help="SLURM partition")
    s.add_argument("--gpus-per-task", type=int, default=1, help="GPUs of each run (default 1)")
    s.add_argument("--time", type=int, default=2880,
                   help="time limit of each task in minutes (default 2880 = 2 days); a task "
                        "that reaches it saves, requeues and resumes")
    s.add_argument("--parallel", type=int, help="array tasks running at once")
    s.add_argument("--cpus-per-task", type=int, help="CPU cores of each run")
    s.add_argument("--mem", help="memory of each task, e.g. 64G")
    s.add_argument("--slurm-setup", action="append", metavar="LINE",
                   help="shell line run first in each task (repeatable), e.g. 'source "
                        ".venv/bin/activate'")
    s.add_argument("--slurm-opt", action="append", metavar="KEY=VALUE",
                   help="another #SBATCH option (repeatable), e.g. account=lab, qos=high")


def parser() -> argparse.ArgumentParser:
    from lra.configs import MODELS

    p = argparse.ArgumentParser(prog="python -m lra", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="prepare data").add_subparsers(dest="action", required=True)
    g = data.add_parser("generate", help="generate a task's data in the LRA release layout")
    g.add_argument("--task", required=True, choices=["listops", "pathfinder", "pathx"])
    g.add_argument("--out", required=True,
                   help="folder that will hold listops-1000/ or pathfinder<R>/")
    g.add_argument("--seed", type=int, default=0)
    lo = g.add_argument_group("listops")
    lo.add_argument("--train", type=int, default=96_000)
    lo.add_argument("--val", type=int, default=2_000)
    lo.add_argument("--test", type=int, default=2_000)
    lo.add_argument("--min-length", type=int, default=500, help="keep length > this (LRA: 500)")
    lo.add_argument("--max-length", type=int, default=2_000, help="keep length < this (LRA: 2000)")
    lo.add_argument("--max-depth", type=int, default=10, help="tree depth limit (LRA: 10)")
    lo.add_argument("--max-args", type=int, default=10, help="operator arity limit (LRA: 10)")
    pf = g.add_argument_group("pathfinder, pathx")
    _pathfinder_args(pf)
    pf.add_argument("--n", type=int, default=200_000, help="images (the release has 200,000)")
    pf.add_argument("--per-batch", type=int, default=1000,
                    help="images per imgs/<batch>/ folder and metadata file")
    pf.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    g.set_defaults(func=_generate)

    s = data.add_parser("show", help="a PNG grid of Pathfinder samples with their labels")
    s.add_argument("--task", required=True, choices=["pathfinder", "pathx"])
    s.add_argument("--out", required=True, help="PNG file to write")
    s.add_argument("--data-dir", help="read the samples from this release-layout folder "
                                      "(default: draw new ones with --seed)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--n", type=int, default=16, help="samples to show")
    _pathfinder_args(s)
    s.set_defaults(func=_show)

    c = data.add_parser("check", help="check a task's data and summarise it")
    c.add_argument("--task", required=True)
    c.add_argument("--data-dir", required=True, help="folder holding the task's data")
    c.add_argument("--strict", action="store_true",
                   help="fail unless the split sizes are the LRA release's")
    c.set_defaults(func=_check)

    t = sub.add_parser("train", help="train and evaluate one run")
    t.add_argument("--task", required=True)
    t.add_argument("--config", default="full", help="full, smoke (listops: demo)")
    t.add_argument("--data-dir", help="folder holding the release's folders")
    t.add_argument("--workdir", help="new folder for this run's records")
    t.add_argument("--seed", type=int, default=None, help="overrides the config's seed")
    t.add_argument("--model", choices=list(MODELS),
                   help="one of the S4D paper's models (default: the config's, S4D-Inv)")
    t.add_argument("--resume", action="store_true",
                   help="continue the run in --workdir from its checkpoint (a workdir holding "
                        "one is resumed anyway; this makes its absence an error)")
    t.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config key, e.g. --set train.epochs=3 (repeatable)")
    t.add_argument("--dry-run", action="store_true",
                   help="compile and time the training step on these devices, print memory, "
                        "step time and the run's predicted length; train nothing, write "
                        "nothing (needs no data; --data-dir gives the real split sizes)")
    t.add_argument("--dry-run-steps", type=int, default=3, metavar="N",
                   help="steps timed by --dry-run (after one warm-up)")
    t.add_argument("--plan-for", metavar="GPU[:N]",
                   help="the dry run's memory half for N GPUs this machine need not have: "
                        "compile the steps for them with JAX's CUDA plugin and print their "
                        "planned memory, nothing timed; GPU: a name in lra/plan.py GPUS (e.g. "
                        "h100-80gb, h200) or a file holding XLA's GPU target config")
    t.add_argument("--json", action="store_true",
                   help="--dry-run, --plan-for: print one JSON object")
    t.set_defaults(func=_train)

    w = sub.add_parser("sweep", help="several runs: seeds and a grid of config values")
    w.add_argument("--task", required=True)
    w.add_argument("--config", default="full", help="the task's config variant")
    w.add_argument("--data-dir", help="folder holding the release's folders (not for --status)")
    w.add_argument("--runs", required=True, help="folder for the runs' workdirs")
    w.add_argument("--seeds", type=int, nargs="+", default=[0], help="one run per seed")
    w.add_argument("--model", choices=list(MODELS), help="as for train")
    w.add_argument("--grid", action="append", metavar="KEY=V1,V2",
                   help="a config key and its values (repeatable: every combination runs), "
                        "e.g. --grid model.disc=zoh,bilinear,dss")
    w.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config key for every run (repeatable)")
    _launch_args(w)
    w.set_defaults(func=_sweep)

    for name, what in (("evaluate", "score a saved model on a split"),
                       ("predict", "write a saved model's predictions, one CSV row per example")):
        e = sub.add_parser(name, help=what)
        e.add_argument("--workdir", required=True, help="the run's folder")
        e.add_argument("--checkpoint", default="best", help="best, latest or a step number")
        e.add_argument("--split", default="test", choices=["val", "test", "train"])
        e.add_argument("--data-dir", help="score this data (default: the run's own)")
        e.add_argument("--set", action="append", metavar="data.KEY=VALUE",
                       help="change a data option, e.g. --set data.difficulty=curv_baseline")
        e.add_argument("--out", required=name == "predict",
                       help="CSV to write" if name == "predict" else
                       "JSON to write (default: <workdir>/eval-<split>-<checkpoint>.json)")
        e.set_defaults(func=_evaluate if name == "evaluate" else _predict)

    r = sub.add_parser("report", help="tables from run records")
    r.add_argument("--runs", required=True, help="folder searched for result.json files")
    r.add_argument("--out", required=True, help="folder for lra_table.md/.csv")
    r.set_defaults(func=_report)

    b = sub.add_parser("bench", help="speed and memory, one JSON line per measurement")
    b.add_argument("--quick", action="store_true", help="tiny shapes, one run (a smoke test)")
    b.add_argument("--out", help="also write the JSON lines to this file")
    b.add_argument("--pathx", action="store_true",
                   help="add one Path-X-sized training step (minutes on a CPU, ~22 GiB)")
    b.add_argument("--device", action="store_true",
                   help="an accelerator's set: float32 and bfloat16, each task's step at its "
                        "paper batch size")
    b.add_argument("--tune", action="store_true",
                   help="instead: ListOps, Pathfinder and Path-X steps under each model.conv and "
                        "model.dtype, then the platform's candidate XLA flags (what a device's "
                        "defaults rest on)")
    b.add_argument("--roofline", metavar="FILE",
                   help="measure nothing: print FILE's (a bench record's) rows beside the "
                        "device's measured ceilings, as a markdown table")
    b.add_argument("--tune-table", metavar="FILE",
                   help="measure nothing: print FILE's (an `lra bench --tune` record's) steps "
                        "under each set against the default, as a markdown table")
    b.add_argument("--dryrun-table", metavar="FILE",
                   help="measure nothing: print FILE's dry runs (`train --dry-run --json` "
                        "lines) beside S4's epoch times and the speed targets, as a markdown "
                        "table")
    b.add_argument("--plan-table", metavar="FILE",
                   help="measure nothing: print FILE's plans (`train --plan-for GPU --json` "
                        "lines), a row per task and GPU, as a markdown table")
    b.add_argument("--against", metavar="DRYRUN_FILE",
                   help="with --plan-table: then each plan beside the dry run of the same task "
                        "on that GPU itself (`train --dry-run --json` lines): memory, bytes, "
                        "step and epoch, planned against measured")
    b.set_defaults(func=_bench)

    k = sub.add_parser("config", help="print a run's config: every key, its value and meaning")
    k.add_argument("--task", required=True)
    k.add_argument("--config", default="full", help="the task's config variant")
    k.add_argument("--model", choices=list(MODELS), help="as for train")
    k.add_argument("--set", action="append", metavar="KEY=VALUE", help="as for train")
    k.set_defaults(func=_config)

    ts = sub.add_parser("tasks", help="list the registered tasks")
    ts.add_argument("--names", action="store_true", help="names only, on one line")
    ts.add_argument("--lra", action="store_true", help="only the six LRA tasks")
    ts.set_defaults(func=_tasks)
    return p


def main(argv: list[str] | None = None) -> int:
    from lra.launch import pin_cores

    pin_cores()  # a run of a local sweep (lra/launch.py): before JAX starts its threads
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Interrupted as e:
        print(str(e), file=sys.stderr)
        return e.exit_code
    return 0
