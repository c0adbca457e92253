"""Pathfinder images: contours of paddles grown in free space, vectorised over a batch of images.

The process is the one of Linsley et al.'s `snakes2.py` as lra-reference §5 describes it (this is
our own implementation of that description, not a port):
- Two target contours of `contour_length` paddles. Their seeds lie `seed_distance` apart; each
  grows from its seed, paddle after paddle, a gap `margin` between consecutive paddles.
- A new paddle's direction turns by δ from the previous one with probability
  ∝ cos²(min(continuity·|δ|, π/2)), among the directions whose paddle lies in free space
  (inside the padding, clear of every other paddle by at least the margin).
- The first marker sits on one end of one target contour; for label 1 the second marker sits
  on the far end of the same contour, for label 0 on the far end of the other one. Which target
  carries the first marker is a coin flip, independent of the label, so the two classes differ
  only in where the second marker is, never in how the contours were drawn.
- `num_distractors` distractor contours of `distractor_length` paddles, grown the same way.
- Rendered at `antialias` times the resolution, then box-downsampled; intensities are scaled by
  the contrast and clipped.

Our choices where the description is silent (all in final-image pixels unless said):
- Lengths, thicknesses, radii, padding and margins are in final-image pixels; rendering scales
  them by `antialias`.
- Turning is sampled from N_CANDIDATES directions stratified over (-π/(2c), π/(2c)) with one
  random offset per image and step: a stratified draw of the continuous density.
- Every end of a target contour keeps a clear disk of radius marker_radius + margin +
  thickness/2 around it, so no marker ever touches another contour (that would join them).
- A contour that runs out of free directions is erased and regrown from a new seed (up to
  ATTEMPTS times); an image whose contour still fails is redrawn from scratch.

Everything is drawn from one `np.random.Generator`, in a fixed order, so the same generator state
gives the same images on the same NumPy version.

Occupancy is a per-image uint8 count of the (dilated) paddles covering each render pixel, so a
failed contour is erased by subtracting its paddles: no full-image pass per contour.
"""

from __future__ import annotations

import dataclasses

import numpy as np

N_CANDIDATES = 16  # directions tried per paddle
ATTEMPTS = 10  # seeds tried per contour before the image is redrawn


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
    contrast: float
    antialias: int = 2


@dataclasses.dataclass
class Images:
    """A batch of n images and the geometry they were drawn from (final-image pixels, (x, y)).

    pixels (n, R, R) uint8; labels (n,) int; margins (n,);
    starts, ends (n, C, P, 2): paddle k of contour c runs from starts[:, c, k] to ends[:, c, k];
      contours 0 and 1 are the targets, 2.. the distractors; unused slots are NaN.
    lengths (n, C): paddles per contour; markers (n, 2, 2): the two marker centres;
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


def _cover(p0: np.ndarray, p1: np.ndarray, radius, size: int, capsule: bool):
    """Render pixels near segments p0→p1 ((m, 2) each, render px): (which segment, rows, cols).

    A pixel is covered when its centre is within `radius` of the segment (capsule) or, for a
    paddle, within `radius` of its axis and between its ends (rectangle). Pixels outside the
    image are dropped (not clipped, so no pixel repeats within one segment).
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
    if capsule:
        tc = np.clip(t, 0, length[:, None, None])
        inside = (cx - tc * ux) ** 2 + (cy - tc * uy) ** 2 <= r * r
    else:
        inside = (t >= 0) & (t <= length[:, None, None]) & (np.abs(cx * uy - cy * ux) <= r)
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
        i, rows, cols = _cover(p0, p1, radius, self.size, capsule=True)
        if sign > 0:
            self.occupied[idx[i], rows, cols] += 1
        else:
            self.occupied[idx[i], rows, cols] -= 1

    def free(self, idx: np.ndarray, pts: np.ndarray, padded: bool = True) -> np.ndarray:
        """(m, ...) True where every point pts (m, ..., q, 2) is inside and unoccupied."""
        lo, hi = (self.lo, self.hi) if padded else (0.0, self.size - 1e-6)
        inside = ((pts >= lo) & (pts <= hi)).all(axis=(-1, -2))
        cells = np.clip(np.floor(pts).astype(np.int64), 0, self.size - 1)
        b = idx.reshape((-1,) + (1,) * (pts.ndim - 2))
        hit = self.occupied[b, cells[..., 1], cells[..., 0]] > 0
        return inside & ~hit.any(axis=-1)

    def end_clear(self, idx: np.ndarray, centres: np.ndarray) -> np.ndarray:
        """(m, ...) True where a marker at centres (m, ..., 2) would touch no other paddle.

        Occupancy is dilated by thickness + margin, so a clear marker disk keeps the margin.
        """
        probes = centres[..., None, :] + _disk_offsets(self.p.marker_radius * self.a)
        return self.free(idx, probes, padded=False)

    def end_radius(self, idx: np.ndarray) -> np.ndarray:
        """Clear radius around a marked end: the marker, the margin, half a paddle (render px)."""
        return self.p.marker_radius * self.a + self.margin[idx] + self.thick / 2

    def grow(self, c: int, n_paddles: int, idx: np.ndarray, seeds, target: bool) -> None:
        """Grows contour c in images idx; images that fail ATTEMPTS times get ok = False.

        seeds(idx) -> (m, 2) seed points (render px) for a new attempt.
        """
        rng, K = self.rng, N_CANDIDATES
        half = min(np.pi / 2 / self.p.continuity, np.pi)
        pending = idx
        for _ in range(ATTEMPTS):
            if pending.size == 0:
                return
            alive = pending
            pos = seeds(alive)
            theta = np.zeros(alive.size)
            failed = []
            for k in range(n_paddles):
                cand, weight, gap = self._headings(k, alive, theta, half)
                u = _unit(cand)  # (m, K, 2)
                along = gap[:, None, None] + self.probes[None, None, :]  # (m, 1, q)
                pts = pos[:, None, None, :] + along[..., None] * u[:, :, None, :]
                valid = self.free(alive, pts)
                if target and k == 0:
                    valid &= self.end_clear(alive, pos)[:, None]
                if target and k == n_paddles - 1:
                    valid &= self.end_clear(alive, pts[:, :, -1, :])
                wv = weight * valid
                total = wv.sum(axis=1)
                pick = (np.cumsum(wv, axis=1) < (rng.random(alive.size) * total)[:, None]).sum(1)
                pick = np.minimum(pick, K - 1)
                dead = total <= 0
                rows = np.arange(alive.size)
                uk = u[rows, pick]
                start = pos + gap[:, None] * uk
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
        self.ok[pending] = False

    def _headings(self, k: int, alive: np.ndarray, theta: np.ndarray, half: float):
        """(candidate headings (m, K), their weights (m, K), gap before the paddle (m,)) for
        paddle k: any direction for the first, else turns within ±half of theta weighted by
        the continuity density cos²(min(c·|δ|, π/2))."""
        m, K = alive.size, N_CANDIDATES
        if k == 0:  # any direction, equally likely
            cand = self.rng.uniform(0, 2 * np.pi, m)[:, None] + np.arange(K) * (2 * np.pi / K)
            return cand, np.ones((m, K)), np.zeros(m)
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

    def uniform_seeds(idx):
        return canvas.lo + rng.random((idx.size, 2)) * span

    def near_first(idx):  # the second target's seed: seed_distance from the first's
        phi = rng.uniform(0, 2 * np.pi, idx.size)
        return canvas.starts[idx, 0, 0] + p.seed_distance * a * _unit(phi)

    L = p.contour_length
    canvas.grow(0, L, everyone, uniform_seeds, target=True)
    ok = everyone[canvas.ok]
    canvas.reserve_ends(ok, 0, L)
    canvas.grow(1, L, ok, near_first, target=True)
    ok = everyone[canvas.ok]
    canvas.reserve_ends(ok, 1, L)
    for c in range(2, 2 + p.num_distractors):
        canvas.grow(c, p.distractor_length, everyone[canvas.ok], uniform_seeds, target=False)
    return canvas


def _render(p: Params, canvas: _Canvas, markers: np.ndarray) -> np.ndarray:
    """(n, R, R) uint8 from paddles and markers (render px)."""
    n, a, size = canvas.ok.size, canvas.a, canvas.size
    mask = np.zeros((n, size, size), np.uint8)
    s, e = canvas.starts.reshape(n, -1, 2), canvas.ends.reshape(n, -1, 2)
    img, slot = np.nonzero(~np.isnan(s[..., 0]))
    i, rows, cols = _cover(s[img, slot], e[img, slot], canvas.thick / 2, size, capsule=False)
    mask[img[i], rows, cols] = 1
    centres = markers.reshape(-1, 2)
    i, rows, cols = _cover(centres, centres, p.marker_radius * a, size, capsule=True)
    mask[i // 2, rows, cols] = 1
    coverage = mask.reshape(n, p.resolution, a, p.resolution, a).sum(axis=(2, 4), dtype=np.float32)
    value = np.clip(coverage * (p.contrast / (a * a)), 0, 1)
    return np.rint(value * 255).astype(np.uint8)


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
    lengths = np.array([L, L] + [p.distractor_length] * p.num_distractors)
    return Images(
        pixels=pixels,
        labels=labels,
        margins=canvas.margin / a,
        starts=canvas.starts / a,
        ends=canvas.ends / a,
        lengths=np.broadcast_to(lengths, (n, lengths.size)).copy(),
        markers=markers / a,
        marked=np.stack([np.stack([first, np.zeros(n, int)], 1),
                         np.stack([second, np.ones(n, int)], 1)], axis=1),
        redrawn=redrawn,
    )
