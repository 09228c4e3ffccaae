"""Parts-64: a procedurally generated classification corpus for pretraining.

The synthetic segmentation set has no ImageNet: this corpus stands in for it.
It is a single-label set of 64 classes, each a *body shape* carrying a
*cue* (a part: a face, wheels, fins, spots ...) at a *layout* position, with
a body material drawn from a class distribution over texture families and
colours. The shapes, cues, textures and colours are those of the
segmentation set and more, so features transfer the way ImageNet's fur and
wheels do, but no class reuses a segmentation class's (body, cue) pair
(:data:`synthetic_voc.SIGNATURES`): the corpus has wheels on towers and
beaks on quadrupeds, never wheels on a car body.

Each image (112 x 112 JPEG) shows one object of its class over the
segmentation set's cluttered scenes (:func:`synthetic_voc.scene`), under
nuisances: scale, rotation, mirroring, partial occlusion by a background
patch and smaller distractor bodies without cue. Image ``i`` of a split has
class ``i mod 64`` and is drawn from ``default_rng((seed, split, i))``, so
the corpus is byte-identical for a given seed and resumable.

The class table is fixed by :data:`DESIGN_SEED` and the construction in
:func:`class_table`; changing either changes the pretraining task.
"""
import hashlib
import json
import os.path as osp
from functools import lru_cache, partial
from typing import Callable, Dict, List, NamedTuple, Sequence, Tuple

import cv2
import numpy as np
from mmengine.utils import track_parallel_progress

from projects.rcm_mam.utils.errors import InputError
from projects.rcm_mam.utils.file_io import dump_json, save_jpeg, save_lines
from .drawing import (COLOURS, RGB, TEXTURES, Parts, Shape, cat_face,
                      dog_face, ellipse, human_face, jitter, polygon, rect,
                      texture)
from .synthetic_voc import SIGNATURES, scene

Mask = np.ndarray  # (H, W) bool
Box = Tuple[float, float, float, float]  # x0, y0, x1, y1


def _regular(x: float, y: float, radius: float, sides: int,
             inner: float = 1.0) -> List[Tuple[float, float]]:
    """Corners of a regular polygon pointing up; a star for ``inner`` < 1
    (every second corner at ``inner`` times the radius)."""
    n = sides * (2 if inner < 1 else 1)
    angles = -np.pi / 2 + 2 * np.pi * np.arange(n) / n
    radii = np.where(np.arange(n) % 2, inner, 1.0) * radius if inner < 1 \
        else np.full(n, radius)
    return list(zip(x + radii * np.cos(angles), y + radii * np.sin(angles)))


# --- bodies: (H, W) mask of an object of size s centred on (x, y) ---------
def _ellipse_body(sh: Shape, x: float, y: float, s: float) -> Mask:
    return ellipse(sh, (x, y), (0.5 * s, 0.32 * s))


def _disc(sh: Shape, x: float, y: float, s: float) -> Mask:
    return ellipse(sh, (x, y), (0.42 * s, 0.42 * s))


def _box(sh: Shape, x: float, y: float, s: float) -> Mask:
    return rect(sh, x - 0.5 * s, y - 0.27 * s, x + 0.5 * s, y + 0.27 * s)


def _tower(sh: Shape, x: float, y: float, s: float) -> Mask:
    return rect(sh, x - 0.22 * s, y - 0.5 * s, x + 0.22 * s, y + 0.5 * s)


def _triangle(sh: Shape, x: float, y: float, s: float) -> Mask:
    return polygon(sh, _regular(x, y + 0.1 * s, 0.55 * s, 3))


def _diamond(sh: Shape, x: float, y: float, s: float) -> Mask:
    return polygon(sh, [(x, y - 0.5 * s), (x + 0.36 * s, y),
                        (x, y + 0.5 * s), (x - 0.36 * s, y)])


def _star(sh: Shape, x: float, y: float, s: float) -> Mask:
    return polygon(sh, _regular(x, y, 0.52 * s, 5, inner=0.5))


def _cross(sh: Shape, x: float, y: float, s: float) -> Mask:
    return rect(sh, x - 0.5 * s, y - 0.16 * s, x + 0.5 * s, y + 0.16 * s) | \
        rect(sh, x - 0.16 * s, y - 0.5 * s, x + 0.16 * s, y + 0.5 * s)


def _ring(sh: Shape, x: float, y: float, s: float) -> Mask:
    return _disc(sh, x, y, s) & ~ellipse(sh, (x, y), (0.2 * s, 0.2 * s))


def _crescent(sh: Shape, x: float, y: float, s: float) -> Mask:
    return _disc(sh, x, y, s) & ~ellipse(sh, (x + 0.25 * s, y - 0.1 * s),
                                         (0.36 * s, 0.36 * s))


def _hexagon(sh: Shape, x: float, y: float, s: float) -> Mask:
    return polygon(sh, _regular(x, y, 0.47 * s, 6))


def _arch(sh: Shape, x: float, y: float, s: float) -> Mask:
    return rect(sh, x - 0.45 * s, y - 0.4 * s, x + 0.45 * s, y + 0.4 * s) & \
        ~ellipse(sh, (x, y + 0.4 * s), (0.22 * s, 0.42 * s))


def _quadruped(sh: Shape, x: float, y: float, s: float) -> Mask:
    """Torso, a head to the right and four legs."""
    body = ellipse(sh, (x, y), (0.42 * s, 0.2 * s)) | ellipse(
        sh, (x + 0.4 * s, y - 0.2 * s), (0.15 * s, 0.15 * s))
    for leg in (-0.3, -0.15, 0.15, 0.3):
        body |= rect(sh, x + (leg - 0.04) * s, y, x + (leg + 0.04) * s,
                     y + 0.4 * s)
    return body


def _upright(sh: Shape, x: float, y: float, s: float) -> Mask:
    """A tall trunk and a round head on top."""
    return ellipse(sh, (x, y + 0.12 * s), (0.17 * s, 0.36 * s)) | ellipse(
        sh, (x, y - 0.36 * s), (0.14 * s, 0.15 * s))


def _bird(sh: Shape, x: float, y: float, s: float) -> Mask:
    """An oval body, a head to the right and a tail to the left."""
    return ellipse(sh, (x, y), (0.33 * s, 0.2 * s)) | ellipse(
        sh, (x + 0.3 * s, y - 0.17 * s), (0.12 * s, 0.12 * s)) | polygon(
            sh, [(x - 0.25 * s, y), (x - 0.55 * s, y - 0.2 * s),
                 (x - 0.55 * s, y + 0.12 * s)])


def _car(sh: Shape, x: float, y: float, s: float) -> Mask:
    """A low box with a cabin."""
    return rect(sh, x - 0.5 * s, y - 0.1 * s, x + 0.5 * s, y + 0.16 * s) | \
        polygon(sh, [(x - 0.28 * s, y - 0.1 * s), (x - 0.16 * s, y - 0.34 * s),
                     (x + 0.2 * s, y - 0.34 * s), (x + 0.32 * s, y - 0.1 * s)])


BODIES: Dict[str, Callable[[Shape, float, float, float], Mask]] = dict(
    ellipse=_ellipse_body, disc=_disc, box=_box, tower=_tower,
    triangle=_triangle, diamond=_diamond, star=_star, cross=_cross,
    ring=_ring, crescent=_crescent, hexagon=_hexagon, arch=_arch,
    quadruped=_quadruped, upright=_upright, bird=_bird, car=_car)


# --- cues: parts at anchor (ax, ay) of radius r on a body of box ----------
class Anchor(NamedTuple):
    """Where a cue sits: its centre, radius, the body's box and mask."""
    x: float
    y: float
    r: float
    box: Box
    body: Mask


# the segmentation set's faces, in their own colours
def _cat_face(sh: Shape, a: Anchor, colour: RGB) -> Parts:
    return cat_face(sh, a.x, a.y, a.r)


def _dog_face(sh: Shape, a: Anchor, colour: RGB) -> Parts:
    return dog_face(sh, a.x, a.y, a.r)


def _face(sh: Shape, a: Anchor, colour: RGB) -> Parts:
    return human_face(sh, a.x, a.y, a.r)


def _beak(sh: Shape, a: Anchor, colour: RGB) -> Parts:
    return [(polygon(sh, [(a.x, a.y - 0.35 * a.r), (a.x + 1.6 * a.r, a.y),
                          (a.x, a.y + 0.4 * a.r)]), (250, 150, 0)),
            (ellipse(sh, (a.x - 0.4 * a.r, a.y - 0.3 * a.r),
                     (0.3 * a.r, 0.3 * a.r)), (250, 250, 250)),
            (ellipse(sh, (a.x - 0.35 * a.r, a.y - 0.3 * a.r),
                     (0.15 * a.r, 0.15 * a.r)), (0, 0, 0))]


def _wheels(sh: Shape, a: Anchor, colour: RGB) -> Parts:
    x0, _, x1, y1 = a.box
    cue: Parts = []
    for wx in (x0 + 0.22 * (x1 - x0), x1 - 0.22 * (x1 - x0)):
        cue.append((ellipse(sh, (wx, y1), (0.8 * a.r, 0.8 * a.r)),
                    (15, 15, 15)))
        cue.append((ellipse(sh, (wx, y1), (0.36 * a.r, 0.36 * a.r)),
                    (235, 235, 245)))
    return cue


def _windows(sh: Shape, a: Anchor, colour: RGB) -> Parts:
    x0, _, x1, _ = a.box
    step = (x1 - x0) * 0.8 / 4
    return [(rect(sh, x0 + (x1 - x0) * 0.1 + i * step + 0.1 * step,
                  a.y - 0.35 * a.r, x0 + (x1 - x0) * 0.1 + (i + 0.9) * step,
                  a.y + 0.35 * a.r) & a.body, (90, 230, 240))
            for i in range(4)]


def _spots(sh: Shape, a: Anchor, colour: RGB) -> Parts:
    return [(ellipse(sh, (a.x + dx * a.r, a.y + dy * a.r),
                     (0.32 * a.r, 0.32 * a.r)) & a.body, colour)
            for dx, dy in ((-0.9, -0.5), (0.8, -0.6), (0.0, 0.2), (-0.6, 0.9),
                           (0.9, 0.8))]


def _band(sh: Shape, a: Anchor, colour: RGB) -> Parts:
    x0, _, x1, _ = a.box
    return [(rect(sh, x0, a.y - 0.3 * a.r, x1, a.y + 0.3 * a.r) & a.body,
             colour)]


def _dot(sh: Shape, a: Anchor, colour: RGB) -> Parts:
    return [(ellipse(sh, (a.x, a.y), (0.7 * a.r, 0.7 * a.r)), colour),
            (ellipse(sh, (a.x, a.y), (0.3 * a.r, 0.3 * a.r)),
             (245, 245, 245))]


def _antenna(sh: Shape, a: Anchor, colour: RGB) -> Parts:
    top = a.box[1]
    stalk = np.zeros(sh, np.uint8)
    cv2.line(stalk, (int(a.x), int(top + a.r)), (int(a.x), int(top - 2 * a.r)),
             1, max(1, int(0.25 * a.r)))
    return [(stalk.astype(bool), (40, 40, 40)),
            (ellipse(sh, (a.x, top - 2 * a.r), (0.45 * a.r, 0.45 * a.r)),
             colour)]


def _fins(sh: Shape, a: Anchor, colour: RGB) -> Parts:
    x0, _, x1, _ = a.box
    return [(polygon(sh, [(x + side * 0.2 * a.r, a.y - 0.6 * a.r),
                          (x + side * 1.3 * a.r, a.y + 0.8 * a.r),
                          (x + side * 0.2 * a.r, a.y + 0.6 * a.r)]), colour)
            for x, side in ((x0, -1), (x1, 1))]


def _horns(sh: Shape, a: Anchor, colour: RGB) -> Parts:
    top = a.box[1]
    return [(polygon(sh, [(a.x + side * 0.3 * a.r, top + 0.4 * a.r),
                          (a.x + side * 1.1 * a.r, top + 0.4 * a.r),
                          (a.x + side * 1.4 * a.r, top - 1.4 * a.r)]), colour)
            for side in (-1, 1)]


def _eye(sh: Shape, a: Anchor, colour: RGB) -> Parts:
    return [(ellipse(sh, (a.x, a.y), (0.8 * a.r, 0.6 * a.r)), (250, 250, 250)),
            (ellipse(sh, (a.x, a.y), (0.42 * a.r, 0.42 * a.r)), colour),
            (ellipse(sh, (a.x, a.y), (0.18 * a.r, 0.18 * a.r)), (0, 0, 0))]


def _plus(sh: Shape, a: Anchor, colour: RGB) -> Parts:
    return [(rect(sh, a.x - a.r, a.y - 0.25 * a.r, a.x + a.r,
                  a.y + 0.25 * a.r) |
             rect(sh, a.x - 0.25 * a.r, a.y - a.r, a.x + 0.25 * a.r,
                  a.y + a.r), colour)]


def _zigzag(sh: Shape, a: Anchor, colour: RGB) -> Parts:
    x0, _, x1, _ = a.box
    xs = np.linspace(x0, x1, 7)
    points = np.stack([xs, a.y + 0.5 * a.r * (-1)**np.arange(7)], 1)
    line = np.zeros(sh, np.uint8)
    cv2.polylines(line, [np.round(points).astype(np.int32)], False, 1,
                  max(1, int(0.35 * a.r)))
    return [(line.astype(bool) & a.body, colour)]


def _star_mark(sh: Shape, a: Anchor, colour: RGB) -> Parts:
    return [(polygon(sh, _regular(a.x, a.y, a.r, 5, inner=0.45)), colour)]


CUES: Dict[str, Callable[[Shape, Anchor, RGB], Parts]] = dict(
    cat_face=_cat_face, dog_face=_dog_face, face=_face, beak=_beak,
    wheels=_wheels, windows=_windows, spots=_spots, band=_band, dot=_dot,
    antenna=_antenna, fins=_fins, horns=_horns, eye=_eye, plus=_plus,
    zigzag=_zigzag, star_mark=_star_mark)
# Where a cue sits on its body's box, as fractions of its width and height.
LAYOUTS: Dict[str, Tuple[float, float]] = dict(
    top=(0.5, 0.25), centre=(0.5, 0.5), bottom=(0.5, 0.72),
    side=(0.78, 0.4))
# Colours of the cues that have no fixed colours of their own.
CUE_COLOURS: Dict[str, RGB] = dict(
    magenta=(220, 40, 200), cyan=(40, 220, 230), lime=(150, 240, 40),
    purple=(120, 50, 200), scarlet=(240, 30, 20), teal=(20, 140, 130),
    pink=(250, 150, 200), gold=(250, 200, 20))

DESIGN_SEED = 64
NUM_CLASSES = 64
# class k: body k mod 16, cue (k mod 16 + OFFSETS[k // 16]) mod 16, so
# every body and every cue is used by four classes and no pair twice
OFFSETS = (1, 7, 10, 13)
# body textures: every family but sky, which backgrounds alone use
BODY_TEXTURES = tuple(t for t in TEXTURES if t != 'sky')


class CorpusClass(NamedTuple):
    """One class of the corpus: what its objects are made of.

    Attributes:
        name (str): ``body-cue``.
        body (str): Key of :data:`BODIES`.
        cue (str): Key of :data:`CUES`.
        layout (str): Key of :data:`LAYOUTS`.
        textures (dict): Body texture family: probability.
        colours (dict): Body colour (:data:`COLOURS`): probability.
        cue_colour (str): Key of :data:`CUE_COLOURS`.
    """
    name: str
    body: str
    cue: str
    layout: str
    textures: Dict[str, float]
    colours: Dict[str, float]
    cue_colour: str


@lru_cache(maxsize=1)
def class_table() -> Tuple[CorpusClass, ...]:
    """The 64 classes, drawn once from :data:`DESIGN_SEED`."""
    rng = np.random.default_rng(DESIGN_SEED)
    bodies, cues = list(BODIES), list(CUES)
    classes = []
    for k in range(NUM_CLASSES):
        body = bodies[k % len(bodies)]
        cue = cues[(k % len(bodies) + OFFSETS[k // len(bodies)]) % len(cues)]
        textures = rng.choice(BODY_TEXTURES, 2, replace=False)
        colours = rng.choice(list(COLOURS), 3, replace=False)
        classes.append(CorpusClass(
            name=f'{body}-{cue}', body=body, cue=cue,
            layout=str(rng.choice(list(LAYOUTS))),
            textures={str(textures[0]): 0.7, str(textures[1]): 0.3},
            colours=dict(zip(map(str, colours), (0.5, 0.3, 0.2))),
            cue_colour=str(rng.choice(list(CUE_COLOURS)))))
    return tuple(classes)


def segmentation_overlap(classes: Sequence[CorpusClass]) -> List[str]:
    """Corpus classes that reuse a segmentation class's (body, cue)."""
    reused = set(SIGNATURES.values())
    return [c.name for c in classes if (c.body, c.cue) in reused]


def _pick(rng: np.random.Generator, probabilities: Dict[str, float]) -> str:
    return str(rng.choice(list(probabilities), p=list(probabilities.values())))


def _draw(rng: np.random.Generator, cls: CorpusClass, sh: Shape, x: float,
          y: float, s: float) -> Tuple[np.ndarray, Mask]:
    """An upright object of class ``cls``: (H, W, 3) float64 RGB layer and
    its (H, W) bool mask."""
    body = BODIES[cls.body](sh, x, y, s)
    ys, xs = np.nonzero(body)
    box = (xs.min(), ys.min(), xs.max(), ys.max())
    fx, fy = LAYOUTS[cls.layout]
    anchor = Anchor(box[0] + fx * (box[2] - box[0]),
                    box[1] + fy * (box[3] - box[1]), 0.13 * s, box, body)
    colour = np.clip(np.array(CUE_COLOURS[cls.cue_colour], np.float32) +
                     rng.normal(0, 10, 3), 0, 255)
    layer = texture(rng, _pick(rng, cls.textures),
                    jitter(rng, _pick(rng, cls.colours)), sh)
    mask = body.copy()
    for part, part_colour in CUES[cls.cue](sh, anchor, tuple(colour)):
        layer[part] = part_colour
        mask |= part
    return layer, mask


def _place(image: np.ndarray, layer: np.ndarray, mask: Mask,
           centre: Tuple[float, float], angle: float, mirror: bool) -> None:
    """Paste ``layer`` where ``mask`` is, rotated by ``angle`` degrees about
    ``centre`` and mirrored left-right about it if ``mirror``."""
    matrix = cv2.getRotationMatrix2D(centre, angle, 1.0)
    if mirror:  # x -> 2 cx - x, then the rotation
        matrix[:, 2] += 2 * centre[0] * matrix[:, 0]
        matrix[:, 0] *= -1
    h, w = mask.shape
    mask = cv2.warpAffine(mask.astype(np.uint8), matrix, (w, h),
                          flags=cv2.INTER_NEAREST).astype(bool)
    layer = cv2.warpAffine(layer, matrix, (w, h), flags=cv2.INTER_LINEAR)
    image[mask] = layer[mask]


def make_image(rng: np.random.Generator, cls: CorpusClass,
               size: int = 112) -> np.ndarray:
    """One (size, size, 3) uint8 RGB image of class ``cls``."""
    sh = (size, size)
    image = scene(rng, size, size)
    for _ in range(int(rng.choice((0, 1, 2), p=(0.4, 0.4, 0.2)))):
        # a smaller distractor body without cue, of any shape and material
        x, y = rng.uniform(0.1, 0.9, 2) * size
        body = BODIES[str(rng.choice(list(BODIES)))](
            sh, x, y, size * rng.uniform(0.2, 0.35))
        layer = texture(rng, str(rng.choice(BODY_TEXTURES)),
                        jitter(rng, str(rng.choice(list(COLOURS)))), sh)
        _place(image, layer, body, (x, y), rng.uniform(-180, 180),
               bool(rng.random() < 0.5))
    x, y = rng.uniform(0.4, 0.6, 2) * size
    layer, mask = _draw(rng, cls, sh, x, y, size * rng.uniform(0.45, 0.8))
    _place(image, layer, mask, (x, y), rng.uniform(-40, 40),
           bool(rng.random() < 0.5))
    if rng.random() < 0.35:  # occluded by a background patch
        cx, cy = rng.uniform(0, size, 2)
        axes = rng.uniform(0.1, 0.25, 2) * size
        patch = rect(sh, cx - axes[0], cy - axes[1], cx + axes[0],
                     cy + axes[1])
        image[patch] = scene(rng, size, size)[patch]
    image = cv2.GaussianBlur(image, (0, 0), 0.5)
    return np.clip(image + rng.normal(0, 3, image.shape), 0,
                   255).astype(np.uint8)


SPLITS = ('train', 'val')


def _write_image(task: Tuple[str, int], out: str, seed: int) -> None:
    """Write image ``index`` of ``split`` unless it exists."""
    split, index = task
    path = osp.join(out, split, f'{index:06d}.jpg')
    if not osp.exists(path):
        rng = np.random.default_rng([seed, SPLITS.index(split), index])
        save_jpeg(make_image(rng, class_table()[index % NUM_CLASSES]), path)


def make_parts_corpus(out: str, seed: int = 0, num_train: int = 24000,
                      num_val: int = 3200, nproc: int = 2) -> None:
    """Write the corpus under ``out`` in mmpretrain's ``CustomDataset``
    layout: ``{train,val}/NNNNNN.jpg``, ``meta/{train,val}.txt`` (``path
    label`` lines), ``meta/classes.txt`` (the class names, for people: the
    config needs none) and ``meta/corpus.json`` (the settings; a folder made
    with others, or by other drawing code, is refused).

    Images already present are kept (a re-run resumes); every file is
    written atomically. ``nproc`` processes draw the images.
    """
    # the first image's digest stands for the drawing code: a folder drawn
    # by other code is refused too
    probe = make_image(np.random.default_rng([seed, 0, 0]), class_table()[0])
    settings = dict(seed=seed, num_train=num_train, num_val=num_val,
                    classes=[c._asdict() for c in class_table()],
                    probe_sha256=hashlib.sha256(probe.tobytes()).hexdigest())
    record = osp.join(out, 'meta', 'corpus.json')
    if osp.isfile(record):
        with open(record) as f:
            if json.load(f) != settings:
                raise InputError(
                    f'{out} holds a corpus made with other settings '
                    f'({record}). Fix: remove the folder or pass another '
                    '--out.')
    else:
        dump_json(settings, record)
    counts = dict(train=num_train, val=num_val)
    tasks = [(split, i) for split in SPLITS for i in range(counts[split])]
    track_parallel_progress(partial(_write_image, out=out, seed=seed), tasks,
                            nproc, chunksize=64)
    for split in SPLITS:
        save_lines([f'{split}/{i:06d}.jpg {i % NUM_CLASSES}'
                    for i in range(counts[split])],
                   osp.join(out, 'meta', f'{split}.txt'))
    save_lines([c.name for c in class_table()],
               osp.join(out, 'meta', 'classes.txt'))
