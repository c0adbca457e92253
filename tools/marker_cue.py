"""How much the marker distance alone says about a generated image's label: a threshold on the
distance between the two markers, fitted on half of the images and scored on the other half.
One JSON line per resolution.

    .venv/bin/python tools/marker_cue.py > results/bench/pathfinder-marker-cue.jsonl
"""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lra import records  # noqa: E402
from tasks.generators.pathfinder import preset  # noqa: E402
from tasks.generators.snakes import draw  # noqa: E402

N = 4000  # images per resolution: 2,000 to fit the threshold, 2,000 to score it


def main() -> None:
    prov = records.provenance()
    print(json.dumps({"bench": "env", "commit": prov["commit"], "dirty": prov["dirty"]}))
    for resolution in (32, 128):
        im = draw(preset(resolution), N, np.random.default_rng(11))
        d = np.linalg.norm(im.markers[:, 0] - im.markers[:, 1], axis=-1)
        y = im.labels
        fit, held = slice(0, N // 2), slice(N // 2, N)
        candidates = [(t, sign) for t in np.quantile(d[fit], np.linspace(0.01, 0.99, 99))
                      for sign in (1, -1)]
        t, sign = max(candidates, key=lambda c: ((c[1] * (d[fit] - c[0]) > 0) == y[fit]).mean())
        print(json.dumps({
            "bench": "marker_distance_cue", "resolution": resolution, "images": N,
            "mean_distance_label1": round(float(d[y == 1].mean()), 2),
            "mean_distance_label0": round(float(d[y == 0].mean()), 2),
            "fit_accuracy": round(float(((sign * (d[fit] - t) > 0) == y[fit]).mean()), 4),
            "held_out_accuracy": round(float(((sign * (d[held] - t) > 0) == y[held]).mean()), 4),
        }), flush=True)


if __name__ == "__main__":
    main()
