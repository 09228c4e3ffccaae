"""Drawing primitives of the procedurally generated data sets: colours,
material textures and filled shapes, all on (H, W) NumPy canvases."""
from typing import Dict, List, Tuple

import cv2
import numpy as np

RGB = Tuple[int, int, int]
COLOURS: Dict[str, RGB] = dict(brown=(120, 80, 45),
                               grey=(128, 128, 128),
                               orange=(205, 125, 50),
                               black=(45, 45, 50),
                               white=(220, 220, 215),
                               red=(185, 40, 40),
                               blue=(50, 70, 175),
                               silver=(170, 175, 180),
                               yellow=(215, 185, 45),
                               green=(60, 135, 60),
                               beige=(200, 180, 140))

# Material families of :func:`texture`.
TEXTURES = ('fur', 'feather', 'paint', 'cloth', 'sky', 'spots', 'waves',
            'scales', 'noise')


def jitter(rng: np.random.Generator, colour: str) -> np.ndarray:
    """The RGB of a named colour with Gaussian noise, (3, ) float64."""
    return np.clip(
        np.array(COLOURS[colour], np.float32) + rng.normal(0, 12, 3), 0, 255)


def smooth_noise(rng: np.random.Generator, shape: Tuple[int, int],
                 blur: float) -> np.ndarray:
    """Smooth noise of unit standard deviation, (H, W) float32."""
    field = cv2.GaussianBlur(
        rng.standard_normal(shape).astype(np.float32), (0, 0), blur)
    return field / (field.std() + 1e-6)


def texture(rng: np.random.Generator, kind: str, colour: np.ndarray,
            shape: Tuple[int, int]) -> np.ndarray:
    """A material of the given kind and base colour, (H, W, 3) RGB (float64
    for a float64 colour)."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == 'fur':  # streaks along a random direction
        angle = rng.uniform(0, np.pi)
        kernel = np.zeros((9, 9), np.float32)
        cv2.line(kernel,
                 (int(4 - 4 * np.cos(angle)), int(4 - 4 * np.sin(angle))),
                 (int(4 + 4 * np.cos(angle)), int(4 + 4 * np.sin(angle))), 1)
        streaks = cv2.filter2D(
            rng.standard_normal(shape).astype(np.float32), -1,
            kernel / kernel.sum())
        shade = 25 * streaks / (streaks.std() + 1e-6) + 10 * smooth_noise(
            rng, shape, 6)
    elif kind == 'feather':  # overlapping scallops
        period = rng.uniform(5, 8)
        shade = 18 * np.sin(xx / period) * np.cos(yy / period * 1.3) + 8 * \
            smooth_noise(rng, shape, 1)
    elif kind == 'paint':  # smooth shading with a specular band
        tilt = rng.uniform(-1, 1)
        grad = (yy + tilt * xx) / max(h, w)
        band = np.exp(-((grad - rng.uniform(0.2, 0.8)) * 12)**2)
        shade = -35 * grad + 60 * band + 3 * smooth_noise(rng, shape, 1)
    elif kind == 'cloth':  # stripes or checks
        period = rng.uniform(5, 10)
        stripes = np.sign(np.sin(xx * np.pi / period))
        if rng.random() < 0.5:
            stripes = stripes * np.sign(np.sin(yy * np.pi / period))
        shade = 20 * stripes + 5 * smooth_noise(rng, shape, 1)
    elif kind == 'sky':
        shade = 60 * (yy / h - 0.5) + 6 * smooth_noise(rng, shape, 8)
    elif kind == 'spots':  # dark blotches
        shade = -45 * (smooth_noise(rng, shape, 2.5) > 1.0) + 6 * \
            smooth_noise(rng, shape, 1)
    elif kind == 'waves':  # wavy bands
        period, phase = rng.uniform(4, 7), rng.uniform(0, 2 * np.pi)
        shade = 22 * np.sin(yy / period + 2.5 * np.sin(xx /
                                                       (2 * period) + phase))
    elif kind == 'scales':  # a grid of small rings
        period = rng.uniform(4, 6)
        dist = np.hypot((xx % period) - period / 2, (yy % period) - period / 2)
        shade = 30 * (np.abs(dist - period / 3) < 0.8) - 10 + 4 * \
            smooth_noise(rng, shape, 1)
    elif kind == 'noise':
        shade = 20 * smooth_noise(rng, shape, 1)
    else:
        raise ValueError(f'unknown texture {kind!r}: one of {TEXTURES}')
    return np.clip(colour[None, None] + shade[..., None], 0, 255)


Shape = Tuple[int, int]
Point = Tuple[float, float]
# part masks, (H, W) bool, and their colours, drawn in order
Parts = List[Tuple[np.ndarray, RGB]]


def ellipse(shape: Shape,
            centre: Point,
            axes: Point,
            angle: float = 0.0) -> np.ndarray:
    """A filled ellipse of semi-axes ``axes`` rotated by ``angle`` degrees,
    (H, W) bool."""
    mask = np.zeros(shape, np.uint8)
    cv2.ellipse(mask, (int(centre[0]), int(centre[1])),
                (max(int(axes[0]), 1), max(int(axes[1]), 1)), angle, 0, 360, 1,
                -1)
    return mask.astype(bool)


def polygon(shape: Shape, points: List[Point]) -> np.ndarray:
    """A filled polygon, (H, W) bool."""
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask.astype(bool)


def rect(shape: Shape, x0: float, y0: float, x1: float,
         y1: float) -> np.ndarray:
    """A filled axis-aligned rectangle, (H, W) bool."""
    return polygon(shape, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)])


def eyes(shape: Shape,
         cx: float,
         cy: float,
         r: float,
         colour_mask_pairs: List[Tuple[np.ndarray, RGB]],
         eye_colour: RGB,
         pupil: bool = True) -> None:
    """Append two eyes at distance ``r`` left and right of (cx, cy) (and
    their pupils) to ``colour_mask_pairs``."""
    for side in (-1, 1):
        eye = ellipse(shape, (cx + side * r, cy), (r * 0.45, r * 0.35))
        colour_mask_pairs.append((eye, eye_colour))
        if pupil:
            colour_mask_pairs.append(
                (ellipse(shape, (cx + side * r, cy),
                         (r * 0.15, r * 0.3)), (10, 10, 10)))


def cat_face(shape: Shape, x: float, y: float, r: float) -> Parts:
    """Green slit eyes and a pink nose on a head of radius r at (x, y)."""
    parts: Parts = []
    eyes(shape, x, y - r * 0.2, r * 0.45, parts, (60, 220, 60))
    parts.append((polygon(shape, [(x - r * .18, y + r * .25),
                                  (x + r * .18, y + r * .25),
                                  (x, y + r * .45)]), (240, 130, 170)))
    return parts


def dog_face(shape: Shape, x: float, y: float, r: float) -> Parts:
    """Round white eyes, a big black nose and a red tongue on a head of
    radius r at (x, y)."""
    parts: Parts = []
    eyes(shape, x, y - r * 0.25, r * 0.42, parts, (250, 250, 250))
    parts.append((ellipse(shape, (x, y + r * 0.3), (r * 0.28, r * 0.2)),
                  (5, 5, 5)))
    parts.append((ellipse(shape, (x, y + r * 0.7), (r * 0.15, r * 0.22)),
                  (230, 40, 60)))
    return parts


def human_face(shape: Shape, x: float, y: float, r: float) -> Parts:
    """A skin-coloured head of radius r at (x, y) with eyes and a mouth."""
    parts: Parts = [(ellipse(shape, (x, y), (r, r * 1.15)), (235, 185, 150))]
    eyes(shape, x, y - r * 0.2, r * 0.4, parts, (60, 40, 30), False)
    parts.append((ellipse(shape, (x, y + r * 0.5), (r * 0.35, r * 0.12)),
                  (200, 30, 50)))
    return parts
