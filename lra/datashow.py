"""`python -m lra data show`: a PNG grid of Pathfinder samples with their labels, to see the task.

Samples come from a release-layout folder (the LRA release or our generator's output, read by the
adapter's own metadata reader) or are drawn fresh from the generator.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tasks.base import DataError

CAPTION = 14  # pixels of caption strip under each tile
TILE = 160  # tiles are upscaled (nearest) to at least this many pixels a side


def _from_folder(data_dir: str, resolution: int, difficulty: str, n: int):
    from tasks.pathfinder import decode_png, find_folder, read_metadata

    _, folder = find_folder(data_dir, resolution, difficulty)
    rows = [r for r in read_metadata(folder, resolution)[: 4 * n]
            if (folder / r[0]).stat().st_size > 0][:n]  # empty PNGs are skipped, as in training
    pixels = np.stack([decode_png(folder / rel, resolution).reshape(resolution, resolution)
                       for rel, *_ in rows])
    return pixels, np.array([label for _, label, *_ in rows])


def _drawn(resolution: int, difficulty: str, n: int, seed: int):
    from tasks.generators.pathfinder import preset
    from tasks.generators.snakes import draw

    images = draw(preset(resolution, difficulty), n, np.random.default_rng(seed))
    return images.pixels, images.labels


def show(task: str, out: str | Path, *, data_dir: str | None = None, resolution: int = 32,
         difficulty: str = "curv_contour_length_14", n: int = 16, seed: int = 0,
         cols: int = 8) -> Path:
    """Writes a grid of n samples, each captioned with its label; returns the file."""
    from PIL import Image, ImageDraw

    if task not in ("pathfinder", "pathx"):
        raise DataError(f"data show draws Pathfinder samples; got --task {task}")
    if data_dir is not None:
        pixels, labels = _from_folder(data_dir, resolution, difficulty, n)
    else:
        pixels, labels = _drawn(resolution, difficulty, n, seed)
    scale = max(1, -(-TILE // resolution))
    side = resolution * scale
    cols = min(cols, len(pixels))
    rows = -(-len(pixels) // cols)
    gap = 4
    sheet = Image.new("L", (cols * (side + gap) + gap, rows * (side + CAPTION + gap) + gap), 64)
    pen = ImageDraw.Draw(sheet)
    for k, (img, label) in enumerate(zip(pixels, labels, strict=True)):
        x = gap + (k % cols) * (side + gap)
        y = gap + (k // cols) * (side + CAPTION + gap)
        sheet.paste(Image.fromarray(img).resize((side, side), Image.NEAREST), (x, y))
        pen.text((x + 2, y + side + 1), "1: connected" if label else "0: separate", fill=255)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out
