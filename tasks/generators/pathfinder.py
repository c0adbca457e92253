"""Pathfinder / Path-X data in the LRA release layout, from our generator (`snakes.py`).

Writes `<out>/pathfinder<R>/<difficulty>/imgs/<batch>/sample_<i>.png` and the plain-text
`<out>/pathfinder<R>/<difficulty>/metadata/<batch>.npy` (lra-reference §2.5: 11 space-separated
fields per line; `.npy` in name only), plus `pathfinder<R>/lra_s4d_generator.json` naming the
settings, so the adapter records the data as generated.

Settings per resolution are LRA's (lra-reference §5 table, from the docstrings of
`lra_benchmarks/data/pathfinder.py`); where that table says "(default)" we take the `Args` class
default of `snakes2_wrapper.py` (paddle_length 5, padding 22, seed_distance 27). distractor_length
is contour_length // 3 and num_distractors budget // distractor_length, as Python 2 (which that
code ran on) computes the table's `/`: 32 px at contour 14 gives 4 and 5, as the table's `//` says.
The release's example line `imgs/0 sample_0.png 0 0 1.0 6 2 2 0.5 1 1` (Pathfinder-32,
curv_baseline) is what this writes for such an image.

Batches are the unit of work, of randomness and of resumption: batch b draws from
SeedSequence([seed, R, contour_length, b]), so the files do not depend on how many processes
wrote them; its metadata file is written last, atomically, so a run stopped midway resumes by
skipping the batches that have one.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from tasks.generators.snakes import Images, Params, draw
from tasks.pathfinder import DIFFICULTIES
from tasks.pathfinder import GENERATOR_MARK as MARK

# Per resolution (lra-reference §5): the LRA settings; `budget` // distractor_length distractors.
RESOLUTIONS = {
    32: dict(padding=1, paddle_length=2, paddle_thickness=0.5, margins=(1,), marker_radius=1.5,
             seed_distance=7, continuity=1.0, budget=20, contrast=2.0,
             paddle_contrast=0.75),
    64: dict(padding=1, paddle_length=5, paddle_thickness=1, margins=(1,), marker_radius=2.5,
             seed_distance=12, continuity=1.8, budget=22, contrast=0.8),
    128: dict(padding=1, paddle_length=5, paddle_thickness=1.5, margins=(2, 3), marker_radius=3,
              seed_distance=20, continuity=1.8, budget=35, contrast=0.9),
    256: dict(padding=22, paddle_length=5, paddle_thickness=2, margins=(3,), marker_radius=5,
              seed_distance=27, continuity=1.8, budget=30, contrast=1.0),
}
VERSION = 2  # bump when the same seed would give different images (2: rendered as the process)


def preset(resolution: int, difficulty: str = "curv_contour_length_14") -> Params:
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {sorted(RESOLUTIONS)}, got {resolution}")
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {list(DIFFICULTIES)}, got {difficulty!r}")
    s = dict(RESOLUTIONS[resolution])
    contour = DIFFICULTIES[difficulty]
    distractor = contour // 3
    return Params(resolution=resolution, contour_length=contour, distractor_length=distractor,
                  num_distractors=s.pop("budget") // distractor, **s)


def metadata_line(batch: int, i: int, label: int, margin: float, p: Params) -> str:
    """The release's 11 fields (lra-reference §2.5) for image i of a batch.

    Settings print as the preset spells them (1.0, 0.5, 2), as the release's example line does.
    """
    margin_text = str(int(margin)) if float(margin).is_integer() else str(float(margin))
    return " ".join([f"imgs/{batch}", f"sample_{i}.png", str(i), str(int(label)),
                     str(p.continuity), str(p.contour_length), str(p.distractor_length),
                     str(p.paddle_length), str(p.paddle_thickness), margin_text, "1"])


def batch_rng(seed: int, p: Params, batch: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, p.resolution, p.contour_length,
                                                         batch]))


def write_batch(folder: Path, p: Params, seed: int, batch: int, n: int) -> tuple[int, int]:
    """Draws and writes batch `batch` (n images); returns (batch, images redrawn)."""
    from PIL import Image

    images: Images = draw(p, n, batch_rng(seed, p, batch))
    img_dir = folder / "imgs" / str(batch)
    img_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        Image.fromarray(images.pixels[i], "L").save(img_dir / f"sample_{i}.png", format="PNG")
        lines.append(metadata_line(batch, i, images.labels[i], images.margins[i], p))
    meta = folder / "metadata" / f"{batch}.npy"
    tmp = meta.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, meta)  # last: its presence means the batch is complete
    return batch, images.redrawn


def _work(job: tuple) -> tuple[int, int, int]:
    folder, p, seed, batch, n = job
    return (*write_batch(Path(folder), p, seed, batch, n), n)


def generate(
    out_dir: str | Path,
    *,
    resolution: int = 32,
    difficulty: str = "curv_contour_length_14",
    n: int = 200_000,
    seed: int = 0,
    per_batch: int = 1000,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Writes n images of one difficulty; returns a summary (folder, rate, images redrawn)."""
    p = preset(resolution, difficulty)
    if n < 1 or per_batch < 1:
        raise ValueError(f"need n >= 1 and per_batch >= 1, got {n}, {per_batch}")
    root = Path(out_dir) / f"pathfinder{resolution}"
    folder = root / difficulty
    settings = {"n": n, "seed": seed, "per_batch": per_batch, "version": VERSION,
                "params": {k: v for k, v in vars(p).items()}}
    mark_path = root / MARK
    mark = json.loads(mark_path.read_text()) if mark_path.is_file() else {
        "generator": "pathfinder", "resolution": resolution, "difficulties": {}}
    before = mark["difficulties"].get(difficulty)
    if before is not None and before != json.loads(json.dumps(settings)):
        raise ValueError(f"{folder} was generated with other settings ({before}); pass another "
                         "--out or delete that folder")
    (folder / "metadata").mkdir(parents=True, exist_ok=True)
    mark["difficulties"][difficulty] = settings
    mark_path.write_text(json.dumps(mark, indent=1))

    sizes = [min(per_batch, n - b * per_batch) for b in range(-(-n // per_batch))]
    jobs = [(str(folder), p, seed, b, size) for b, size in enumerate(sizes)
            if not (folder / "metadata" / f"{b}.npy").is_file()]
    if progress:
        progress(n - sum(job[-1] for job in jobs))  # batches already written by a stopped run
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs) or 1))
    t0 = time.perf_counter()
    redrawn = 0
    with contextlib.ExitStack() as stack:
        if workers == 1:
            results = map(_work, jobs)
        else:  # spawn: no inherited threads or JAX state; the files do not depend on workers
            pool = stack.enter_context(ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn")))
            results = pool.map(_work, jobs)  # in order; a worker's error is raised here
        for _, again, size in results:
            redrawn += again
            if progress:
                progress(size)
    seconds = time.perf_counter() - t0
    made = sum(job[-1] for job in jobs)
    return {"folder": str(folder), "written": made, "skipped": n - made, "seconds": seconds,
            "workers": workers, "images_per_s_per_worker": made / seconds / workers
            if made else None, "redrawn": redrawn}
