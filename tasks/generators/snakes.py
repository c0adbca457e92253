"""Pathfinder images: contours of paddles grown in free space, vectorised over a batch of images.

The process is the one of Linsley et al.'s generator (drewlinsley/pathfinder `snakes2.py`,
`snakes.py`) as lra-reference §5 describes it and as that code behaves when run with LRA's
settings; this is our own implementation, not a port:
- Two target contours of `contour_length` paddles. Their seeds lie `seed_distance` apart; each
  grows from its seed, paddle after paddle, a gap `margin` between consecutive paddles.
- A new paddle's heading turns by δ from the previous one with weight
  ∝ cos²(min(continuity·|δ|, π/2)). As the process does (`get_coords_cmf`, `extend_snake`), a
  heading is drawn among those whose end is free, then the whole paddle is tested (inside the
  padding, clear of every other paddle by at least the margin); up to TRIES draws.
- The first marker sits on one end of one target contour; for label 1 the second marker sits
  on the far end of the same contour, for label 0 on the far end of the other one. Which target
  carries the first marker is a coin flip, independent of the label, so the two classes differ
  only in where the second marker is, never in how the contours were drawn.
- `num_distractors` distractor contours of `distractor_length` paddles, grown the same way,
  each tried DISTRACTOR_ATTEMPTS times and left out if it does not fit (`make_many_snakes`
  with `allow_incomplete`).
- Rendering (`_render`) as `draw_line_n_mask` and `draw_circle` do: each paddle and marker
  drawn hard at `antialias` times the size, shrunk with Pillow's LANCZOS to 8 bits, paddles
  scaled by their contrast, the image their maximum, stretched to 0..255 on saving.

What running that code shows, beyond the description (measured with LRA's settings, scipy.misc
behaviour for its resize and save; docs/fidelity.md §5):
- The first target's seed lies at least 2·seed_distance inside every edge, and its first
  heading, like every distractor's, is one whole degree that the process's seed kernel allows
  (`seed_headings`): at 32 px only -149..-121°, so most distractors fail there (about 1.3 of
  5 per image), at 128 px about 7 of 8 fit.
- Every paddle starts on a pixel centre (the process's coordinates are integers).
- Targets take contrast × paddle_contrast, distractors contrast alone.

Our choices where the process is not followed or is silent (final-image pixels unless said):
- Turning is drawn from N_CANDIDATES headings stratified over (-π/(2c), π/(2c)) with one
  random offset per image and step: a stratified draw of the continuous density; a seed paddle
  may start at any of N_CANDIDATES seed points.
- Every end of a target contour keeps a clear disk of radius marker_radius + margin +
  thickness/2 around it, so no marker ever touches another contour (that would join them).
- A target contour that runs out of free directions is erased and regrown from a new seed (up
  to ATTEMPTS times); an image whose target still fails is redrawn from scratch.

Everything is drawn from one `np.random.Generator`, in a fixed order, so the same generator state
gives the same images on the same NumPy and Pillow versions.

Occupancy is a per-image uint8 count of the (dilated) paddles covering each render pixel, so a
failed contour is erased by subtracting its paddles: no full-image pass per contour.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

N_CANDIDATES = 16  # directions tried per paddle
LANCZOS = 3  # the Lanczos window, in output pixels either side
PATCH_PAD = LANCZOS + 1  # output pixels around a shape's box in its patch: the filter's reach
CHUNK = 4096  # shapes rendered at once (bounds the patches' memory)
FIXED = float(1 << 22)  # Pillow's 8-bit resampling precision (PRECISION_BITS)
ATTEMPTS = 10  # seeds tried per target contour before the image is redrawn
DISTRACTOR_ATTEMPTS = 5  # a distractor's tries: 1 + max_distractor_contour_retrial (4)
TRIES = 3  # headings drawn per paddle: 1 + max_paddle_retrial (2)


@dataclasses.dataclass(frozen=True)
class Params:
    """One Pathfinder setting (lra-reference §5 table); lengths in final-image pixels."""

    resolution: int
    padding: float
    paddle_length: float
    paddle_thickness: float
    margins: tuple[float, ...]  # one is drawn per image
    marker_radius: float
    seed_distance: float
    continuity: float
    contour_length: int
    distractor_length: int
    num_distractors: int
    contrast: float  # every contour's (snake_contrast_list's one value)
    paddle_contrast: float = 1.0  # times contrast for the two targets only (as `two_snakes`)
    antialias: int = 2


@dataclasses.dataclass
class Images:
    """A batch of n images and the geometry they were drawn from (final-image pixels, (x, y)).

    pixels (n, R, R) uint8; labels (n,) int; margins (n,);
    starts, ends (n, C, P, 2): paddle k of contour c runs from starts[:, c, k] to ends[:, c, k];
      contours 0 and 1 are the targets, 2.. the distractors; unused slots are NaN.
    lengths (n, C): paddles per contour (0: a distractor left out);
    markers (n, 2, 2): the two marker centres;
    marked (n, 2, 2) int: (contour, end) of each marker, end 0 = seed end, 1 = far end.
    redrawn: images redrawn because a contour could not be placed (a statistic).
    """

    pixels: np.ndarray
    labels: np.ndarray
    margins: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    lengths: np.ndarray
    markers: np.ndarray
    marked: np.ndarray
    redrawn: int = 0


def _unit(theta: np.ndarray) -> np.ndarray:
    return np.stack([np.cos(theta), np.sin(theta)], axis=-1)


def _cover(p0: np.ndarray, p1: np.ndarray, radius, size: int):
    """Render pixels near segments p0→p1 ((m, 2) each, render px): (which segment, rows, cols).

    A pixel is covered when its centre is within `radius` of the segment (a capsule: the
    occupancy of a dilated paddle). Pixels outside the image are dropped (not clipped, so no
    pixel repeats within one segment).
    """
    radius = np.broadcast_to(np.asarray(radius, np.float64), p0.shape[:1])
    d = p1 - p0
    length = np.hypot(d[:, 0], d[:, 1])
    u = d / np.maximum(length, 1e-9)[:, None]
    lo = np.floor(np.minimum(p0, p1) - radius[:, None]).astype(np.int64)
    w = int(np.ceil(length.max(initial=0) + 2 * radius.max(initial=0))) + 2
    g = np.arange(w)
    cx = lo[:, 0, None, None] + g[None, None, :] + 0.5 - p0[:, 0, None, None]  # (m, 1, w)
    cy = lo[:, 1, None, None] + g[None, :, None] + 0.5 - p0[:, 1, None, None]  # (m, w, 1)
    ux, uy = u[:, 0, None, None], u[:, 1, None, None]
    t = cx * ux + cy * uy
    r = radius[:, None, None]
    tc = np.clip(t, 0, length[:, None, None])
    inside = (cx - tc * ux) ** 2 + (cy - tc * uy) ** 2 <= r * r
    i, yy, xx = np.nonzero(inside)
    rows, cols = lo[i, 1] + yy, lo[i, 0] + xx
    ok = (rows >= 0) & (rows < size) & (cols >= 0) & (cols < size)
    return i[ok], rows[ok], cols[ok]


def _disk_offsets(radius: float) -> np.ndarray:
    """(k, 2) lattice points within `radius` of the origin: the probes of a clear disk."""
    r = int(np.ceil(radius))
    g = np.arange(-r, r + 1, dtype=np.float64)
    xx, yy = np.meshgrid(g, g)
    keep = xx**2 + yy**2 <= radius**2
    return np.stack([xx[keep], yy[keep]], axis=-1)


class _Canvas:
    """Occupancy of n images at render scale while their contours grow."""

    def __init__(self, p: Params, n: int, rng: np.random.Generator):
        a = p.antialias
        self.p, self.rng, self.a = p, rng, a
        self.size = p.resolution * a
        self.occupied = np.zeros((n, self.size, self.size), np.uint8)
        self.margin = rng.choice(np.asarray(p.margins, np.float64), n) * a  # render px
        self.length = p.paddle_length * a
        self.thick = p.paddle_thickness * a
        self.clear = self.thick + self.margin  # dilation: edges of two paddles >= margin apart
        self.lo = (p.padding + p.paddle_thickness / 2) * a
        self.hi = self.size - self.lo
        self.probes = np.linspace(0, self.length, int(np.ceil(self.length)) + 1)  # <= 1 px apart
        n_contours = 2 + p.num_distractors
        longest = max(p.contour_length, p.distractor_length)
        self.starts = np.full((n, n_contours, longest, 2), np.nan)
        self.ends = np.full((n, n_contours, longest, 2), np.nan)
        self.ok = np.ones(n, bool)

    def stamp(self, idx: np.ndarray, p0: np.ndarray, p1: np.ndarray, sign: int,
              radius: np.ndarray | None = None) -> None:
        """Adds (+1) or removes (-1) the dilated paddles p0→p1 of images idx (capsules of
        `radius`, by default the paddle's dilation)."""
        radius = self.clear[idx] if radius is None else radius
        i, rows, cols = _cover(p0, p1, radius, self.size)
        if sign > 0:
            self.occupied[idx[i], rows, cols] += 1
        else:
            self.occupied[idx[i], rows, cols] -= 1

    def blocked(self, idx: np.ndarray, pts: np.ndarray, padded: bool = True) -> np.ndarray:
        """(m, ..., q) True where a point pts (m, ..., q, 2) is outside or occupied."""
        lo, hi = (self.lo, self.hi) if padded else (0.0, self.size - 1e-6)
        outside = ~((pts >= lo) & (pts <= hi)).all(axis=-1)
        cells = np.clip(np.floor(pts).astype(np.int64), 0, self.size - 1)
        b = idx.reshape((-1,) + (1,) * (pts.ndim - 2))
        return outside | (self.occupied[b, cells[..., 1], cells[..., 0]] > 0)

    def free(self, idx: np.ndarray, pts: np.ndarray, padded: bool = True) -> np.ndarray:
        """(m, ...) True where every point pts (m, ..., q, 2) is inside and unoccupied."""
        return ~self.blocked(idx, pts, padded).any(axis=-1)

    def end_clear(self, idx: np.ndarray, centres: np.ndarray) -> np.ndarray:
        """(m, ...) True where a marker at centres (m, ..., 2) would touch no other paddle.

        Occupancy is dilated by thickness + margin, so a clear marker disk keeps the margin.
        """
        probes = centres[..., None, :] + _disk_offsets(self.p.marker_radius * self.a)
        return self.free(idx, probes, padded=False)

    def end_radius(self, idx: np.ndarray) -> np.ndarray:
        """Clear radius around a marked end: the marker, the margin, half a paddle (render px)."""
        return self.p.marker_radius * self.a + self.margin[idx] + self.thick / 2

    def grow(self, c: int, n_paddles: int, idx: np.ndarray, seeds, target: bool,
             seed_rule: str) -> None:
        """Grows contour c in images idx. A target that fails ATTEMPTS times sets ok = False
        (the image is redrawn); a distractor that fails DISTRACTOR_ATTEMPTS times is left out,
        as the process leaves it out (`make_many_snakes` with `allow_incomplete`).

        seeds(idx, K) -> (m, K, 2) seed points (render px) for a new attempt. seed_rule, for
        the seed paddle's heading (`_seed_headings`): 'any'; 'kernel', one whole degree, the
        attempt failing where the process's seed kernel misses its anchor (`seed_headings`);
        'kernel_retried', a whole degree among those the kernel allows.
        """
        half = min(np.pi / 2 / self.p.continuity, np.pi)
        pending = idx
        for _ in range(ATTEMPTS if target else DISTRACTOR_ATTEMPTS):
            if pending.size == 0:
                return
            alive = pending
            pos = seeds(alive, N_CANDIDATES)  # (m, K, 2) for the seed paddle, then (m, 2)
            theta = np.zeros(alive.size)
            failed = []
            for k in range(n_paddles):
                if k == 0:
                    cand, weight, gap = self._seed_headings(alive, seed_rule)
                else:
                    cand, weight, gap = self._headings(alive, theta, half)
                u = _unit(cand)  # (m, K, 2)
                at = pos if k == 0 else pos[:, None, :]  # (m, K or 1, 2)
                # Paddles start on pixel centres, as the process's integer coordinates do.
                first = (np.floor((at + gap[:, None, None] * u) / self.a) + 0.5) * self.a
                pts = first[:, :, None, :] + self.probes[None, None, :, None] * u[:, :, None, :]
                blocked = self.blocked(alive, pts)  # (m, K, q)
                valid = ~blocked.any(axis=-1)
                if target and k == 0:
                    valid &= self.end_clear(alive, first)
                if target and k == n_paddles - 1:
                    valid &= self.end_clear(alive, pts[:, :, -1, :])
                pick, dead = self._choose(weight, valid, ~blocked[..., -1])  # end free
                rows = np.arange(alive.size)
                uk = u[rows, pick]
                start = first[rows, pick]
                end = start + self.length * uk
                if k > 0:  # the previous paddle now blocks all but its successor
                    live = ~dead
                    self.stamp(alive[live], self.starts[alive[live], c, k - 1],
                               self.ends[alive[live], c, k - 1], +1)
                if dead.any():
                    failed.append(self._erase(alive[dead], c, k))
                keep = ~dead
                alive, start, end = alive[keep], start[keep], end[keep]
                theta = cand[rows, pick][keep]
                self.starts[alive, c, k] = start
                self.ends[alive, c, k] = end
                pos = end
            if alive.size:
                self.stamp(alive, self.starts[alive, c, n_paddles - 1],
                           self.ends[alive, c, n_paddles - 1], +1)
            pending = np.concatenate(failed) if failed else np.zeros(0, np.int64)
            pending.sort()
        if target:
            self.ok[pending] = False

    def _choose(self, weight: np.ndarray, valid: np.ndarray, end_free: np.ndarray):
        """(pick (m,), dead (m,)): the process's sample-then-test. A heading is drawn from the
        weights over the candidates whose end point is free (`snakes.py` `get_coords_cmf`),
        then the whole paddle is tested; up to TRIES draws, the first that passes is kept, and
        a contour with none passing dies (`extend_snake`, `seed_snake`)."""
        rng, (m, K) = self.rng, weight.shape
        w = weight * end_free
        total = w.sum(axis=1)
        draws = rng.random((m, TRIES)) * total[:, None]  # (m, T)
        picks = np.minimum((np.cumsum(w, axis=1)[:, None, :] < draws[..., None]).sum(-1), K - 1)
        passed = valid[np.arange(m)[:, None], picks] & (total > 0)[:, None]  # (m, T)
        first = passed.argmax(axis=1)
        return picks[np.arange(m), first], ~passed.any(axis=1)

    def _seed_headings(self, alive: np.ndarray, seed_rule: str):
        """(headings (m, K), weights (m, K), gap (m,)) of a seed paddle. 'any': K directions
        spaced evenly from a random offset. 'kernel': one whole degree for all K seed points
        (as `np.random.randint(-180, 180)`), weighted 1 where the process's seed could take it
        and 0 where not, so the attempt fails. 'kernel_retried': a whole degree drawn among
        the allowed ones: the process retries the first target until it succeeds, so the
        rejected degrees only cost it time."""
        m, K = alive.size, N_CANDIDATES
        if seed_rule == "any":
            cand = self.rng.uniform(0, 2 * np.pi, m)[:, None] + np.arange(K) * (2 * np.pi / K)
            return cand, np.ones((m, K)), np.zeros(m)
        degree, ok = self.rng.integers(-180, 180, m), np.zeros(m, bool)
        for margin in np.unique(self.margin[alive]):
            here = np.flatnonzero(self.margin[alive] == margin)
            allowed = seed_headings(self.p, margin / self.a)
            if seed_rule == "kernel_retried":
                degree[here] = self.rng.choice(np.flatnonzero(allowed), here.size) - 180
            ok[here] = allowed[degree[here] + 180]
        cand = np.broadcast_to(np.deg2rad(degree)[:, None], (m, K))
        return cand, np.broadcast_to(ok[:, None].astype(float), (m, K)), np.zeros(m)

    def _headings(self, alive: np.ndarray, theta: np.ndarray, half: float):
        """(candidate headings (m, K), their weights (m, K), gap before the paddle (m,)) after
        heading theta: turns within ±half weighted by the continuity density
        cos²(min(c·|δ|, π/2))."""
        m, K = alive.size, N_CANDIDATES
        delta = -half + (np.arange(K) + self.rng.random((m, 1))) * (2 * half / K)
        weight = np.cos(np.minimum(self.p.continuity * np.abs(delta), np.pi / 2)) ** 2
        return theta[:, None] + delta, weight, self.margin[alive]

    def _erase(self, gone: np.ndarray, c: int, k: int) -> np.ndarray:
        """Removes what images `gone` had of contour c (paddles before k - 1); returns gone."""
        for j in range(k - 1):
            self.stamp(gone, self.starts[gone, c, j], self.ends[gone, c, j], -1)
        self.starts[gone, c] = np.nan
        self.ends[gone, c] = np.nan
        return gone

    def reserve_ends(self, idx: np.ndarray, c: int, n_paddles: int) -> None:
        """Keeps both ends of target contour c clear for the markers from now on."""
        for centre in (self.starts[idx, c, 0], self.ends[idx, c, n_paddles - 1]):
            self.stamp(idx, centre, centre, +1, radius=self.end_radius(idx))


def _draw_geometry(p: Params, n: int, rng: np.random.Generator) -> _Canvas:
    canvas = _Canvas(p, n, rng)
    a = canvas.a
    everyone = np.arange(n)
    span = canvas.hi - canvas.lo

    def uniform_seeds(idx, k):
        return canvas.lo + rng.random((idx.size, k, 2)) * span

    # The first target's seed lies 2·seed_distance or more inside every edge
    # (`initialize_two_seeds` blocks those bands), so that the second's fits around it.
    inner = (2 * p.seed_distance * a, canvas.size - 2 * p.seed_distance * a)
    if inner[1] - inner[0] < a:  # no room left: the padded area
        inner = (canvas.lo, canvas.hi)

    def central_seeds(idx, k):
        return inner[0] + rng.random((idx.size, k, 2)) * (inner[1] - inner[0])

    def near_first(idx, k):  # the second target's seed: seed_distance from the first's
        phi = rng.uniform(0, 2 * np.pi, idx.size)
        at = canvas.starts[idx, 0, 0] + p.seed_distance * a * _unit(phi)
        return np.broadcast_to(at[:, None, :], (idx.size, k, 2))

    L = p.contour_length
    canvas.grow(0, L, everyone, central_seeds, target=True, seed_rule="kernel_retried")
    ok = everyone[canvas.ok]
    canvas.reserve_ends(ok, 0, L)
    # The second target's seed is only checked against the image's edge: any heading.
    canvas.grow(1, L, ok, near_first, target=True, seed_rule="any")
    ok = everyone[canvas.ok]
    canvas.reserve_ends(ok, 1, L)
    for c in range(2, 2 + p.num_distractors):
        canvas.grow(c, p.distractor_length, everyone[canvas.ok], uniform_seeds, target=False,
                    seed_rule="kernel")
    return canvas


def _lanczos_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of Pillow's LANCZOS resize from n_in to n_out pixels
    (`precompute_coeffs` in Pillow's Resample.c): lanczos3 stretched by the scale n_in / n_out,
    cut at the edges and renormalised."""
    scale = n_in / n_out
    centre = (np.arange(n_out) + 0.5) * scale
    j = np.arange(n_in)
    x = (j[None, :] + 0.5 - centre[:, None]) / scale
    w = np.where(np.abs(x) < LANCZOS, np.sinc(x) * np.sinc(x / LANCZOS), 0.0)
    lo = np.maximum((centre - LANCZOS * scale + 0.5).astype(np.int64), 0)
    hi = np.minimum((centre + LANCZOS * scale + 0.5).astype(np.int64), n_in)
    w *= (j[None, :] >= lo[:, None]) & (j[None, :] < hi[:, None])
    return w / w.sum(axis=1, keepdims=True)


def _shrink(masks: np.ndarray, n_out: int) -> np.ndarray:
    """(m, B, B) hard masks -> (m, P, P) 0..255 integers as float32, as Pillow resizes an
    8-bit image with LANCZOS, in its fixed point (Resample.c: coefficients scaled by 2^22 and
    rounded, half added, shifted and clipped): the horizontal pass, then the vertical one.
    Float64 products and sums of those integers are exact."""
    m, big, _ = masks.shape
    w = _lanczos_weights(big, n_out) * FIXED
    w = np.where(w < 0, np.ceil(w - 0.5), np.floor(w + 0.5)).T  # C's (int)(±0.5 + w·2^22)

    def one_pass(x: np.ndarray) -> np.ndarray:  # (rows, B) 0..255 -> (rows, P)
        return np.clip(np.floor((x @ w + FIXED / 2) / FIXED), 0, 255)

    rows = one_pass(masks.reshape(m * big, big) * 255.0).reshape(m, big, n_out)
    out = one_pass(rows.transpose(0, 2, 1).reshape(m * n_out, big))  # (m·P, P), columns now
    return out.reshape(m, n_out, n_out).transpose(0, 2, 1).astype(np.float32)


def _scatter_max(image: np.ndarray, img: np.ndarray, origin: np.ndarray, value: np.ndarray,
                 scale: np.ndarray) -> None:
    """image (n, R, R) = max(image, value · scale / 255) for the patches value (m, P, P) whose
    pixel (0, 0) is image pixel origin (m, 2) (x, y) of image img (m,); outside pixels drop."""
    size = image.shape[-1]
    i, yy, xx = np.nonzero(value)
    rows, cols = origin[i, 1] + yy, origin[i, 0] + xx
    ok = (rows >= 0) & (rows < size) & (cols >= 0) & (cols < size)
    flat = (img[i[ok]] * size + rows[ok]) * size + cols[ok]
    np.maximum.at(image.reshape(-1), flat, value[i[ok], yy[ok], xx[ok]] * (scale[i[ok]] / 255))


def _window(p: Params, margin: float) -> tuple[int, int, int]:
    """(S, P, B) of `draw_line_n_mask`'s window: S = length + ⌈thickness⌉ + margin, P = 2S + 1
    final pixels drawn at B = 2S·a + 1 render pixels (so B / P is a little under a)."""
    S = int(p.paddle_length + np.ceil(p.paddle_thickness) + margin)
    return S, 2 * S + 1, 2 * S * p.antialias + 1


def _line_masks(u: np.ndarray, p: Params, B: int) -> np.ndarray:
    """(m, B, B) the hard lines `draw_line_n_mask` draws in its window of B render pixels:
    Pillow's `ImageDraw.line` of width round(thickness·a) from the centre pixel to the pixel
    `translate_coord` rounds up to at length·a along unit u (m, 2) (x, y). Drawn by Pillow
    itself, each line in its own tile of one image."""
    from PIL import Image, ImageDraw

    m, c = len(u), B // 2
    head = np.ceil(p.paddle_length * p.antialias * u).astype(np.int64) + c  # (m, 2) x, y
    cols = max(1, min(m, 64))
    rows = -(-m // cols)
    canvas = Image.new("L", (cols * B, rows * B), 0)
    draw = ImageDraw.Draw(canvas)
    width = int(np.round(p.paddle_thickness * p.antialias))
    for i, (hx, hy) in enumerate(head.tolist()):
        ox, oy = (i % cols) * B, (i // cols) * B
        draw.line([(ox + c, oy + c), (ox + hx, oy + hy)], fill=255, width=width)
    tiles = np.asarray(canvas).reshape(rows, B, cols, B).transpose(0, 2, 1, 3)
    return tiles.reshape(rows * cols, B, B)[:m] > 0


def _paddles(image: np.ndarray, img: np.ndarray, p0: np.ndarray, p1: np.ndarray, p: Params,
             margin: float, scale: np.ndarray) -> None:
    """Draws paddles p0→p1 (m, 2) (final px) into image as `draw_line_n_mask` does: each in
    its window (`_window`) around the pixel that holds its start, drawn there at render scale
    (`_line_masks`), shrunk with LANCZOS (`_shrink`) and scaled by its contrast."""
    S, P, B = _window(p, margin)
    for c in range(0, len(img), CHUNK):
        sl = slice(c, c + CHUNK)
        origin = np.floor(p0[sl]).astype(np.int64) - S  # p0 is that pixel's centre
        mask = _line_masks((p1[sl] - p0[sl]) / p.paddle_length, p, B)
        _scatter_max(image, img[sl], origin, _shrink(mask, P), scale[sl])


@functools.cache
def seed_headings(p: Params, margin: float) -> np.ndarray:
    """(360,) bool over whole degrees -180..179: where the process can seed a paddle.

    `seed_snake` and `initialize_two_seeds` (first target) dilate the occupancy with the
    seed paddle's own dilated mask, thresholded to its 8-bit maxima, as an OpenCV kernel
    anchored at the window's centre, one pixel up and left of where the paddle starts.
    OpenCV fills the border with the lowest value, so where that kernel misses its anchor,
    pixels at the image's edge come out negative and `find_available_coordinates` finds no
    seed at all: that heading fails. Computed here from our own rendering of that kernel
    (`_line_masks` dilated by the margin's disk, `_shrink`): at 32 px 8.1% of headings
    (-149..-121°), at 128 px 68.6% (margin 2) and 28.3% (margin 3). The process's own kernel,
    run, gives 8.3% (-150..-121°), 68.9% and 28.3%.
    """
    S, P, B = _window(p, margin)
    degrees = np.arange(-180, 180)
    line = _line_masks(_unit(np.deg2rad(degrees)), p, B)
    r = int(margin * p.antialias)  # `generate_dilation_struct(margin · a)`: a disk of integers
    dilated = np.zeros_like(line)
    padded = np.pad(line, ((0, 0), (r, r), (r, r)))
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dx * dx + dy * dy <= r * r:
                dilated |= padded[:, r + dy:r + dy + B, r + dx:r + dx + B]
    ok = _shrink(dilated, P)[:, S - 1, S - 1] == 255
    ok.setflags(write=False)  # cached: shared by every caller
    return ok


def _markers(image: np.ndarray, img: np.ndarray, centres: np.ndarray, p: Params) -> None:
    """Draws disks of marker_radius at centres (m, 2) (final px) as `draw_circle` does: a
    hard disk at a times the resolution shrunk with LANCZOS, unscaled by the contrast."""
    a, r = p.antialias, p.marker_radius
    P = int(2 * np.ceil(r)) + 1 + 2 * PATCH_PAD
    g = np.arange(P * a) + 0.5
    origin = np.floor(centres - r).astype(np.int64) - PATCH_PAD
    q = (centres - origin) * a
    inside = ((g[None, None, :] - q[:, 0, None, None]) ** 2 +
              (g[None, :, None] - q[:, 1, None, None]) ** 2) <= (r * a) ** 2
    _scatter_max(image, img, origin, _shrink(inside, P), np.ones(len(img)))


def _render(p: Params, canvas: _Canvas, markers: np.ndarray) -> np.ndarray:
    """(n, R, R) uint8 from paddles and markers (render px), rendered as the process does.

    Paddles (`_paddles`) are scaled by their contour's contrast, markers (`_markers`) are not;
    the image is their pixelwise maximum, stretched to 0..255 as `scipy.misc.imsave` stored a
    float image (`bytescale`: min to 0, max to 255, rounded).
    """
    n, a = canvas.ok.size, canvas.a
    image = np.zeros((n, p.resolution, p.resolution), np.float32)
    s, e = canvas.starts.reshape(n, -1, 2) / a, canvas.ends.reshape(n, -1, 2) / a
    img, slot = np.nonzero(~np.isnan(s[..., 0]))
    target = slot < 2 * canvas.starts.shape[2]  # contours 0 and 1
    scale = np.where(target, p.contrast * p.paddle_contrast, p.contrast)
    margin = canvas.margin[img] / a
    for m in np.unique(margin):
        k = margin == m
        _paddles(image, img[k], s[img[k], slot[k]], e[img[k], slot[k]], p, m, scale[k])
    _markers(image, np.repeat(np.arange(n), 2), markers.reshape(-1, 2) / a, p)
    low = image.min(axis=(1, 2), keepdims=True)
    span = np.maximum(image.max(axis=(1, 2), keepdims=True) - low, 1e-12)
    return np.floor(np.clip((image - low) * (255 / span), 0, 255) + 0.5).astype(np.uint8)


def draw(p: Params, n: int, rng: np.random.Generator) -> Images:
    """n Pathfinder images with their labels and geometry, drawn from rng."""
    L, a = p.contour_length, p.antialias
    canvas = _draw_geometry(p, n, rng)
    redrawn = 0
    while not canvas.ok.all():  # redraw the images a contour could not be placed in
        bad = np.flatnonzero(~canvas.ok)
        redrawn += bad.size
        again = _draw_geometry(p, bad.size, rng)
        canvas.starts[bad], canvas.ends[bad] = again.starts, again.ends
        canvas.margin[bad], canvas.ok[bad] = again.margin, again.ok
    labels = rng.integers(0, 2, n)
    first = rng.integers(0, 2, n)  # the target whose seed end carries the first marker
    second = np.where(labels == 1, first, 1 - first)
    rows = np.arange(n)
    markers = np.stack([canvas.starts[rows, first, 0], canvas.ends[rows, second, L - 1]], axis=1)
    pixels = _render(p, canvas, markers)
    lengths = (~np.isnan(canvas.starts[..., 0])).sum(axis=-1)  # a left-out distractor has 0
    return Images(
        pixels=pixels,
        labels=labels,
        margins=canvas.margin / a,
        starts=canvas.starts / a,
        ends=canvas.ends / a,
        lengths=lengths,
        markers=markers / a,
        marked=np.stack([np.stack([first, np.zeros(n, int)], 1),
                         np.stack([second, np.ones(n, int)], 1)], axis=1),
        redrawn=redrawn,
    )
