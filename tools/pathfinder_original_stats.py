"""Grey-level statistics of the original Pathfinder generator beside ours, one JSON line each.

Runs a checkout of drewlinsley/pathfinder (`snakes2.from_wrapper`) with the settings in the
docstrings of LRA's `lra_benchmarks/data/pathfinder.py`, with the resize and save that code was
written for: `scipy.misc.imresize` and `imsave`, which stretch a float image to 0..255
(`bytescale`) before Pillow resizes (LANCZOS) or saves it. The checkout's own replacements keep
floats and cannot save them as PNG, so this script supplies the scipy.misc behaviour. Then it
draws the same number of images with our generator and prints the same statistics for both
(docs/fidelity.md §5; the figures tests/tasks/test_pathfinder_generator.py holds).

    pip install opencv-python-headless   # the original imports cv2
    git clone https://github.com/drewlinsley/pathfinder /tmp/pathfinder
    .venv/bin/python tools/pathfinder_original_stats.py --repo /tmp/pathfinder --resolution 32 \
        >> results/bench/pathfinder-original-stats.jsonl

About 4 images/s at 32 px and 0.35/s at 128 px on one core for the original.
"""

from __future__ import annotations

import argparse
import builtins
import json
import random
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lra import records  # noqa: E402
from tasks.generators import pathfinder  # noqa: E402
from tasks.generators.snakes import draw  # noqa: E402

# LRA's docstring settings (contour length 14); the rest are the `Args` defaults.
SETTINGS = {
    32: dict(paddle_margin_list=[1], window_size=[32, 32], padding=1, paddle_length=2,
             marker_radius=1.5, paddle_thickness=0.5, antialias_scale=2, seed_distance=7,
             continuity=1.0, distractor_length=4, num_distractor_snakes=5,
             snake_contrast_list=[2], paddle_contrast_list=[0.75]),
    128: dict(paddle_margin_list=[2, 3], window_size=[128, 128], padding=1, paddle_length=5,
              marker_radius=3, paddle_thickness=1.5, antialias_scale=2, seed_distance=20,
              continuity=1.8, distractor_length=4, num_distractor_snakes=8,
              snake_contrast_list=[0.9], paddle_contrast_list=[1.0]),
}


def bytescale(data: np.ndarray) -> np.ndarray:
    """scipy.misc.bytescale's defaults: [min, max] to [0, 255], rounded."""
    data = np.asarray(data, np.float64)
    span = data.max() - data.min() or 1.0
    return (np.clip((data - data.min()) * (255.0 / span), 0, 255) + 0.5).astype(np.uint8)


def imresize(arr, size, interp="lanczos"):
    arr = np.asarray(arr)
    image = Image.fromarray(arr if arr.dtype == np.uint8 else bytescale(arr))
    return np.array(image.resize((size[1], size[0]), Image.Resampling.LANCZOS))


def imsave(path, arr):
    arr = np.asarray(arr)
    Image.fromarray(arr if arr.dtype == np.uint8 else bytescale(arr)).save(path)


def stats(pixels: np.ndarray) -> dict:
    """pixels (n, R, R) uint8 -> the statistics docs/fidelity.md §5 tabulates."""
    px = pixels / 255.0
    lit = px[px > 0.05]
    return {"images": len(px), "levels": len(np.unique(pixels)), "mean": round(px.mean(), 4),
            "above_0.1": round((px > 0.1).mean(), 4), "above_0.9": round((px > 0.9).mean(), 4),
            "lit_quantiles": [round(q, 3) for q in np.quantile(lit, [.1, .25, .5, .75, .9])]}


def run_original(repo: Path, resolution: int, n: int, seed: int) -> tuple[np.ndarray, float]:
    """(pixels (n, R, R), distractors per image) from the original generator."""
    sys.path.insert(0, str(repo))
    import snakes
    import snakes2

    for module in (snakes, snakes2):
        module._imresize, module._imsave = imresize, imsave
    placed = [0]
    make_snake = snakes.make_snake

    def counting(*args, **kwargs):  # counts the distractors that were placed
        out = make_snake(*args, **kwargs)
        placed[0] += bool(out[2])
        return out

    snakes.make_snake = counting
    np.random.seed(seed)  # noqa: NPY002 - the original draws from NumPy's global state
    random.seed(seed)
    with tempfile.TemporaryDirectory() as out:
        args = types.SimpleNamespace(
            contour_path=out, batch_id=0, n_images=n, LABEL=1, contour_length=14,
            max_target_contour_retrial=4, max_distractor_contour_retrial=4,
            max_paddle_retrial=2, pause_display=False, save_images=True, save_metadata=True,
            use_single_paddles=False, segmentation_task=False,
            segmentation_task_double_circle=False, **SETTINGS[resolution])
        quiet, builtins.print = builtins.print, lambda *a, **k: None  # it prints every image
        try:
            snakes2.from_wrapper(args)
        finally:
            builtins.print = quiet
        pngs = sorted(Path(out, "imgs", "0").glob("*.png"))
        pixels = np.stack([np.asarray(Image.open(f).convert("L")) for f in pngs])
    return pixels, placed[0] / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, required=True, help="drewlinsley/pathfinder checkout")
    parser.add_argument("--resolution", type=int, choices=sorted(SETTINGS), default=32)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    a = parser.parse_args()
    prov = records.provenance()
    print(json.dumps({"bench": "env", "commit": prov["commit"], "dirty": prov["dirty"],
                      "original": str(a.repo)}), flush=True)
    pixels, distractors = run_original(a.repo, a.resolution, a.n, a.seed)
    print(json.dumps({"generator": "original", "resolution": a.resolution,
                      "distractors_per_image": round(distractors, 2), **stats(pixels)}))
    ours = draw(pathfinder.preset(a.resolution), a.n, np.random.default_rng(a.seed))
    print(json.dumps({"generator": "ours", "resolution": a.resolution,
                      "distractors_per_image": round(float((ours.lengths[:, 2:] > 0).sum(1)
                                                           .mean()), 2), **stats(ours.pixels)}))


if __name__ == "__main__":
    main()
