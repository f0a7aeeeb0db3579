"""FractalDB-style images (Kataoka et al., ACCV 2020): iterated function systems rendered by the chaos game.

Categories (IFS codes), as FractalDB's parameter search:
  * a code has N affine maps, N uniform in [min_maps, max_maps] (paper: 2..8; the released search
    script draws 2..7), each map (a, b, c, d, e, f) uniform in [-1, 1]^6:
        (x, y) -> (a x + b y + e,  c x + d y + f),
    chosen with probability p_i proportional to |det| = |a d - b c|;
  * the code is rendered with 100K chaos-game points on a 512-px canvas (6 px padding, axes
    min-max scaled independently as FractalDB does; `search_codes`' points / canvas / pad) and
    kept only if its *filling rate* (fraction of canvas pixels hit) is >= `fill_threshold`
    (0.2). This rejects degenerate codes: attractors that collapse to a point or a line, thin
    dusts, and codes whose orbits diverge (non-finite or |coordinate| > 1e8 -> filling rate 0).
    About 2% of random codes pass. A cheap pre-screen (1/25 of the points on a canvas of 1/5
    the side, which over-estimates the rate) drops codes below 0.9 x threshold before the exact
    test; on 3200 random codes it dropped none that the exact test accepts.

Instances of a category, as FractalDB's renderer (25 parameter variants x 10 renders x 4 flips
= 1000 instances per category):
  * parameter perturbation: variant v in 0..24 is FractalDB's "weights_0.1" table: identity, or
    one of the six parameters (a..f, in every map) multiplied by 0.8, 0.9, 1.1 or 1.2;
  * render randomness (chaos-game draws, 3x3 patch masks) of its own per instance;
  * flips: none, vertical, horizontal, both.
  Image i belongs to category i % num_categories and is instance i // num_categories of it
  (categories interleave, so any prefix of the set covers all categories); its variant is
  instance % 25 and its flip (instance // 25) % 4. A variant whose orbit diverges (a scaled
  parameter can make a map expanding) is replaced by the unperturbed code.

Rendering (vectorised, no per-point Python): the chaos game runs `walkers` independent orbits in
parallel (all images of a batch at once), discards `burn_in` steps of each and keeps
`points` // `walkers` steps, so an image has `points` points (100K, FractalDB's default). Points
are drawn on a `render_size` canvas (default: 128 px for 32-px output, i.e. the smallest multiple
of `size` >= 128), each canvas pixel taking the mean colour of the points that hit it (FractalDB
lets the last one win; the mean is order-independent), and the canvas is area-downsampled to
`size` (as resizing a FractalDB image). FractalDB draws on a 512-px canvas and stamps a random
non-empty 3x3 binary mask per point ("patch" drawing): `render_size=512, patch=True` does exactly
that (16x slower). A 3x3 stamp at 512 px is 0.75 px at 128 px, so the default gives strokes of
about the same relative width at a 16th of the cost (measured mean brightness at 32 px: 49 for
the default vs 42 for 512-px patch drawing, same codes).

Colours (`color`):
  "fractaldb" (default) FractalDB's "color" draw type: point k of an orbit gets hue (k mod 128)/128
                        at saturation 0.75 and value 0.75; hues therefore vary from point to point
                        and mix within a pixel: at 32 px the shapes come out nearly grey (~127),
                        which is also what resizing FractalDB's colour images to 32 px gives.
  "map"                 hue of the last map applied (a per-instance random hue offset, maps
                        spread evenly around the hue circle; saturation and value 0.75): the
                        self-similar copies get distinct colours.
  "gray"                FractalDB's "gray" draw type: every point (127, 127, 127).
Everything is deterministic in `seed`: the code search has a stream of its own and every
instance one keyed by (seed, category, instance), so the images do not depend on batching.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

COLORS = ("fractaldb", "map", "gray")
FLIPS = ("none", "vertical", "horizontal", "both")
_DIVERGED = 1e8
_SEARCH_BATCH = 64
_PRESCREEN = 0.9  # pre-screen keeps codes whose quick filling rate is >= 0.9 x threshold


def fractaldb_weights() -> np.ndarray:
    """FractalDB's 25 parameter variants (weights_0.1.csv): row 2 is the identity; the others
    scale one of (a, b, c, d, e, f) by 0.8, 0.9, 1.1 or 1.2."""
    rows = []
    for j in range(6):
        for f in (0.8, 0.9, 1.0, 1.1, 1.2):
            if f == 1.0 and j > 0:
                continue
            row = np.ones(6)
            row[j] = f
            rows.append(row)
    return np.array(rows)


WEIGHTS = fractaldb_weights()


@dataclass(frozen=True)
class IFSCode:
    """An iterated function system: maps (N, 6) rows (a, b, c, d, e, f) and probabilities (N,)."""

    maps: np.ndarray
    probs: np.ndarray

    @staticmethod
    def from_maps(maps) -> "IFSCode":
        """Probabilities proportional to |det| (FractalDB's rule); uniform if every det is 0."""
        maps = np.asarray(maps, dtype=np.float64).reshape(-1, 6)
        det = np.abs(maps[:, 0] * maps[:, 3] - maps[:, 1] * maps[:, 2])
        probs = det / det.sum() if det.sum() > 0 else np.full(len(maps), 1.0 / len(maps))
        return IFSCode(maps, probs)

    def scaled(self, weights: np.ndarray) -> "IFSCode":
        """Parameters multiplied column-wise by `weights` (6,); probabilities recomputed."""
        return IFSCode.from_maps(self.maps * np.asarray(weights)[None, :])

    def to_list(self) -> list[list[float]]:
        return [[float(v) for v in m] + [float(p)] for m, p in zip(self.maps, self.probs)]


def random_code(rng: np.random.Generator, min_maps: int = 2, max_maps: int = 8) -> IFSCode:
    n = int(rng.integers(min_maps, max_maps + 1))
    return IFSCode.from_maps(rng.uniform(-1.0, 1.0, size=(n, 6)))


def _stack(codes: list[IFSCode]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pad codes to a common number of maps: params (K, M, 6), cdf (K, M), n_maps (K,)."""
    m = max(len(c.maps) for c in codes)
    params = np.zeros((len(codes), m, 6))
    cdf = np.ones((len(codes), m))
    n = np.array([len(c.maps) for c in codes])
    for k, c in enumerate(codes):
        params[k, :n[k]] = c.maps
        cs = np.cumsum(c.probs)
        cdf[k, :n[k]] = cs / cs[-1]
    return params, cdf, n


def chaos_game(codes: list[IFSCode], uniforms: np.ndarray, burn_in: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run the chaos game for K codes with W walkers each, all in parallel.

    `uniforms` (K, T, W) in [0, 1) choose the map of every step (inverse CDF of the code's
    probabilities); walkers start at the origin (as FractalDB's single orbit). Returns
    x, y (K, T - burn_in, W) float32, the map index of each kept point (same shape, uint8) and
    `ok` (K,) bool: False where an orbit left the finite range (|coordinate| > 1e8 or NaN).
    """
    params, cdf, n = _stack(codes)
    k_count, steps, walkers = uniforms.shape
    m = params.shape[1]
    # map choice for every step at once (inverse CDF: the number of CDF entries <= u)
    idx = np.zeros((k_count, steps, walkers), dtype=np.intp)
    for j in range(m - 1):
        idx += uniforms >= cdf[:, j, None, None]
    np.minimum(idx, (n - 1)[:, None, None], out=idx)
    flat = (idx + (np.arange(k_count) * m)[:, None, None]).ravel()
    coef = [np.take(params[:, :, j].astype(np.float32).ravel(), flat).reshape(k_count, steps, walkers) for j in range(6)]
    a, b, c, d, e, f = coef
    x = np.zeros((k_count, walkers), dtype=np.float32)
    y = np.zeros((k_count, walkers), dtype=np.float32)
    keep = steps - burn_in
    xs = np.empty((k_count, keep, walkers), dtype=np.float32)
    ys = np.empty((k_count, keep, walkers), dtype=np.float32)
    ok = np.ones(k_count, dtype=bool)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            x, y = a[:, t] * x + b[:, t] * y + e[:, t], c[:, t] * x + d[:, t] * y + f[:, t]
            if t % 8 == 7 or t == steps - 1:
                bad = ~(np.abs(x) < _DIVERGED) | ~(np.abs(y) < _DIVERGED)  # NaN compares False
                if bad.any():
                    rows = bad.any(1)
                    ok &= ~rows
                    x[rows] = 0.0  # keep the arithmetic finite; these codes are reported as diverged
                    y[rows] = 0.0
            if t >= burn_in:
                xs[:, t - burn_in] = x
                ys[:, t - burn_in] = y
    maps = idx[:, burn_in:].astype(np.uint8)
    return xs, ys, maps, ok


def _to_pixels(xs: np.ndarray, ys: np.ndarray, canvas: int, pad: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Min-max scale each code's points (axes independently, FractalDB) to [pad, canvas - 1 - pad].

    Returns integer columns, rows (K, P) and `flat` (K,) bool: True where an axis has (almost) no
    extent, i.e. the attractor is a point or an axis-parallel line.
    """
    k = xs.shape[0]
    xs = xs.reshape(k, -1)
    ys = ys.reshape(k, -1)
    span = canvas - 1 - 2 * pad
    out = []
    flat = np.zeros(k, dtype=bool)
    for v in (xs, ys):
        lo = v.min(1, keepdims=True)
        rng = v.max(1, keepdims=True) - lo
        scale_ok = rng[:, 0] > 1e-9 * np.maximum(1.0, np.abs(lo[:, 0]))
        flat |= ~scale_ok
        unit = (v - lo) / np.where(scale_ok[:, None], rng, 1.0)
        out.append(np.clip(np.rint(unit * span) + pad, 0, canvas - 1).astype(np.int64))
    return out[0], out[1], flat


def filling_rates(codes: list[IFSCode], rng: np.random.Generator, *, points: int = 100_000,
                  canvas: int = 512, pad: int = 6, walkers: int = 1000, burn_in: int = 20) -> np.ndarray:
    """FractalDB's filling rate of each code: (pixels hit) / (all pixels) of a `points`-point
    render on a `canvas` x `canvas` grid. Diverging and point/line-like codes score 0."""
    steps = burn_in + -(-points // walkers)
    u = rng.random((len(codes), steps, walkers))
    xs, ys, _, ok = chaos_game(codes, u, burn_in)
    npts = points
    cols, rows, flat = _to_pixels(xs.reshape(len(codes), -1)[:, :npts], ys.reshape(len(codes), -1)[:, :npts],
                                  canvas, pad)
    rates = np.empty(len(codes))
    for k in range(len(codes)):
        hit = np.zeros(canvas * canvas, dtype=bool)
        hit[rows[k] * canvas + cols[k]] = True
        rates[k] = hit.mean()
    rates[~ok | flat] = 0.0
    return rates


def search_codes(num_categories: int, seed: int = 0, *, fill_threshold: float = 0.2, min_maps: int = 2,
                 max_maps: int = 8, points: int = 100_000, canvas: int = 512, pad: int = 6,
                 walkers: int = 1000, burn_in: int = 20, max_tries: int | None = None
                 ) -> tuple[list[IFSCode], dict]:
    """FractalDB's random search: draw codes until `num_categories` pass the filling-rate filter.

    Returns (codes, stats with the numbers of candidates tried and accepted).
    """
    if num_categories < 1:
        raise ValueError(f"num_categories must be >= 1, got {num_categories}")
    if not 1 <= min_maps <= max_maps:
        raise ValueError(f"need 1 <= min_maps <= max_maps, got {min_maps}, {max_maps}")
    max_tries = max_tries if max_tries is not None else 1000 * num_categories + 10_000
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x1F5]))
    codes: list[IFSCode] = []
    tried = 0
    while len(codes) < num_categories:
        if tried >= max_tries:
            raise RuntimeError(f"fractal code search: only {len(codes)} of {num_categories} codes passed the "
                               f"filling-rate threshold {fill_threshold} in {tried} candidates; lower it")
        batch = [random_code(rng, min_maps, max_maps) for _ in range(_SEARCH_BATCH)]
        # pre-screen at 1/25 of the points on a canvas 1/5 the side (the same points per pixel):
        # it over-estimates the filling rate, so only codes clearly below the threshold are dropped
        # here; the survivors get FractalDB's exact test
        quick = filling_rates(batch, rng, points=max(1, points // 25), canvas=max(8, round(canvas / 5)),
                              pad=max(1, round(pad / 5)), walkers=max(1, walkers // 5), burn_in=burn_in)
        maybe = [c for c, q in zip(batch, quick) if q >= _PRESCREEN * fill_threshold]
        rates = filling_rates(maybe, rng, points=points, canvas=canvas, pad=pad, walkers=walkers,
                              burn_in=burn_in) if maybe else []
        tried += len(batch)
        for code, rate in zip(maybe, rates):
            if rate >= fill_threshold and len(codes) < num_categories:
                codes.append(code)
    return codes, {"candidates": tried, "accepted": len(codes), "acceptance": len(codes) / tried}


def _palette_fractaldb() -> np.ndarray:
    """FractalDB's colour cycle: 128 hues at saturation 0.75, value 0.75 (RGB in [0, 255])."""
    return np.array([colorsys.hsv_to_rgb(i / 128, 0.75, 0.75) for i in range(128)]) * 255.0


def _hsv_rows(h: np.ndarray) -> np.ndarray:
    """RGB in [0, 255] for hues h (any shape) at saturation and value 0.75."""
    flat = np.array([colorsys.hsv_to_rgb(float(v) % 1.0, 0.75, 0.75) for v in h.ravel()])
    return flat.reshape(*h.shape, 3) * 255.0


_PATCH_OFFSETS = [(dy, dx) for dy in range(3) for dx in range(3)]


def render(codes: list[IFSCode], rngs: list[np.random.Generator], *, size: int, render_size: int,
           points: int, walkers: int, burn_in: int, color: str, patch: bool, flips: list[int]
           ) -> tuple[np.ndarray, np.ndarray]:
    """Render one image per code (each with its own generator): uint8 (K, size, size, 3), ok (K,)."""
    if color not in COLORS:
        raise ValueError(f"color must be one of {', '.join(COLORS)}, not {color!r}")
    k = len(codes)
    steps = burn_in + -(-points // walkers)
    u = np.stack([r.random((steps, walkers)) for r in rngs])
    xs, ys, maps, ok = chaos_game(codes, u, burn_in)
    xs, ys = xs.reshape(k, -1)[:, :points], ys.reshape(k, -1)[:, :points]
    pad = max(1, round(6 * render_size / 512))
    # a 3x3 stamp reaches 2 px right of and below its point: scale onto a canvas 2 px smaller
    cols, rows, _ = _to_pixels(xs, ys, render_size - 2 if patch else render_size, pad)

    # colour of every point = palette[image, colour id]
    if color == "fractaldb":
        palette = np.broadcast_to(_palette_fractaldb(), (k, 128, 3))
        cid = np.broadcast_to(np.arange(points) % 128, (k, points))
    elif color == "map":
        offsets = np.array([r.random() for r in rngs])
        n_maps = np.array([len(c.maps) for c in codes])
        palette = _hsv_rows(offsets[:, None] + np.arange(int(n_maps.max()))[None, :] / n_maps[:, None])
        cid = maps.reshape(k, -1)[:, :points]
    else:
        palette = np.full((k, 1, 3), 127.0)
        cid = np.zeros((k, points), dtype=np.int64)
    ncol = palette.shape[1]
    gid = cid + (np.arange(k) * ncol)[:, None]  # index into the flattened palette
    npix = render_size * render_size
    pix = np.arange(k)[:, None] * npix + rows * render_size + cols  # (K, P)
    if patch:  # FractalDB's patch drawing: each point stamps a random non-empty 3x3 binary mask
        masks = np.stack([r.integers(1, 512, size=points) for r in rngs])
        pix_parts, gid_parts = [], []
        for bit, (dy, dx) in enumerate(_PATCH_OFFSETS):
            sel = ((masks >> (8 - bit)) & 1).astype(bool)
            pix_parts.append(pix[sel] + (dy * render_size + dx))
            gid_parts.append(gid[sel])
        pix, gid = np.concatenate(pix_parts), np.concatenate(gid_parts)
    else:
        pix, gid = pix.ravel(), gid.ravel()
    counts = np.bincount(pix, minlength=k * npix)
    canvas = np.empty((k * npix, 3), dtype=np.float32)
    flat_palette = palette.reshape(-1, 3)
    for c in range(3):
        canvas[:, c] = np.bincount(pix, weights=flat_palette[gid, c], minlength=k * npix)
    canvas /= np.maximum(counts, 1)[:, None].astype(np.float32)
    canvas = canvas.reshape(k, render_size, render_size, 3)
    # FractalDB flips the rendered image top-bottom (image rows grow downwards), then applies the
    # instance's flip
    canvas = canvas[:, ::-1]
    for i, f in enumerate(flips):
        if f in (1, 3):
            canvas[i] = canvas[i, ::-1]
        if f in (2, 3):
            canvas[i] = canvas[i, :, ::-1]
    return _downsample(canvas, size), ok


def _downsample(canvas: np.ndarray, size: int) -> np.ndarray:
    """Area-average (K, R, R, 3) float canvases to uint8 (K, size, size, 3)."""
    k, r = canvas.shape[:2]
    if r % size == 0:
        f = r // size
        out = canvas.reshape(k, size, f, size, f, 3).mean(axis=(2, 4))
    else:
        from PIL import Image

        out = np.stack([np.asarray(Image.fromarray(c[..., ch]).resize((size, size), Image.BOX))
                        for c in canvas for ch in range(3)]).reshape(k, 3, size, size).transpose(0, 2, 3, 1)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def default_render_size(size: int) -> int:
    """The smallest multiple of `size` that is at least 128 px (128 for 32-px images)."""
    return size * max(1, -(-128 // size))


def fractal_images(num: int, size: int = 32, seed: int = 0, num_categories: int | None = None, *,
                   points: int = 100_000, render_size: int | None = None, fill_threshold: float = 0.2,
                   min_maps: int = 2, max_maps: int = 8, color: str = "fractaldb", patch: bool = False,
                   instance_variants: bool = True, flips: bool = True, walkers: int = 1000, burn_in: int = 20,
                   batch_size: int = 16, codes: list[IFSCode] | None = None, return_info: bool = False):
    """`num` FractalDB-style RGB images, uint8 (num, size, size, 3); see the module docstring.

    num_categories: number of IFS codes (default min(num, 1000): FractalDB-1k's 1000 categories).
    codes: use these codes instead of searching (then num_categories = len(codes)).
    return_info: also return a dict with the codes, the search statistics and each image's
        (category, instance, variant, flip).
    """
    if num < 0:
        raise ValueError(f"num must be >= 0, got {num}")
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    if walkers < 1 or points < 1 or burn_in < 0:
        raise ValueError("need walkers >= 1, points >= 1 and burn_in >= 0")
    render_size = render_size or default_render_size(size)
    if render_size < size:
        raise ValueError(f"render_size ({render_size}) must be >= size ({size})")
    if codes is None:
        num_categories = num_categories or max(1, min(num, 1000))
        codes, stats = search_codes(num_categories, seed, fill_threshold=fill_threshold, min_maps=min_maps,
                                    max_maps=max_maps, walkers=walkers, burn_in=burn_in)
    else:
        num_categories, stats = len(codes), {"candidates": None, "accepted": len(codes), "acceptance": None}
    out = np.empty((num, size, size, 3), dtype=np.uint8)
    labels = []
    for start in range(0, num, batch_size):
        ids = range(start, min(num, start + batch_size))
        variants, rngs, flip_ids = [], [], []
        for i in ids:
            cat, inst = i % num_categories, i // num_categories
            v = inst % len(WEIGHTS) if instance_variants else 2
            f = (inst // len(WEIGHTS)) % 4 if flips else 0
            variants.append(codes[cat].scaled(WEIGHTS[v]))
            rngs.append(np.random.default_rng(np.random.SeedSequence([seed, 0xF2A, cat, inst])))
            flip_ids.append(f)
            labels.append((cat, inst, v, f))
        kw = dict(size=size, render_size=render_size, points=points, walkers=walkers, burn_in=burn_in,
                  color=color, patch=patch)
        states = [r.bit_generator.state for r in rngs]
        imgs, ok = render(variants, rngs, flips=flip_ids, **kw)
        if not ok.all():  # a perturbed variant diverged: render the unperturbed code instead
            bad = np.flatnonzero(~ok)
            for j in bad:
                rngs[j].bit_generator.state = states[j]
            base = [codes[labels[start + j][0]] for j in bad]
            imgs[bad], _ = render(base, [rngs[j] for j in bad], flips=[flip_ids[j] for j in bad], **kw)
        out[start:start + len(ids)] = imgs
    if return_info:
        return out, {"codes": [c.to_list() for c in codes], "search": stats,
                     "labels": np.array(labels, dtype=np.int64).reshape(-1, 4), "render_size": render_size}
    return out
