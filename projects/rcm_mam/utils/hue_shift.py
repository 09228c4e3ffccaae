"""mmcv's hue jitter under numpy 2.

The stage-1 configs' ``mmpretrain.ColorJitter`` shifts the hue with mmcv
2.1.0's ``adjust_hue``, which adds ``np.uint8(hue_factor * 255)`` to the hue
channel: numpy 1 wraps a negative shift around, numpy 2 raises
``OverflowError: Python integer -12 out of bounds for uint8``, so training
stops at its first image. mmcv 2.1.0 is the last version mmseg 1.2.2 takes,
and shadowing numpy 2 with numpy 1 breaks the scipy built for numpy 2 that
comes with it. :func:`use_hue_shift` (``tools/train.py`` calls it; not
importing the package) puts the same function with the shift wrapped
explicitly in ``mmcv.adjust_hue``, where mmpretrain calls it, under numpy 2
only: the images of numpy 1, bit for bit, under either numpy.
"""
from typing import Optional

import cv2
import mmcv
import numpy as np
from mmcv.image import io as mmcv_io
from PIL import Image


def adjust_hue(img: np.ndarray,
               hue_factor: float,
               backend: Optional[str] = None) -> np.ndarray:
    """Shift the hue of a BGR image cyclically (mmcv's ``adjust_hue``).

    Args:
        img (ndarray): (H, W, 3) BGR image.
        hue_factor (float): Shift in [-0.5, 0.5] of the hue circle.
        backend (str, optional): 'cv2' or 'pillow'; None: mmcv's
            ``imread_backend``.

    Returns:
        ndarray: The image with its hue shifted, of the input's dtype.
    """
    backend = backend or mmcv_io.imread_backend
    if backend not in ('cv2', 'pillow'):
        raise ValueError(f"backend: {backend} is not supported. Supported "
                         "backends are 'cv2', 'pillow'")
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor:{hue_factor} is not in [-0.5, 0.5].')
    # what numpy 1 made of np.uint8(hue_factor * 255): truncation, then the
    # two's-complement wrap
    shift = np.uint8(int(hue_factor * 255) % 256)
    if backend == 'pillow':
        assert img.dtype == np.uint8, 'Pillow backend only support uint8 type'
        h, s, v = Image.fromarray(np.ascontiguousarray(
            img[..., ::-1])).convert('HSV').split()
        h = Image.fromarray(np.asarray(h, np.uint8) + shift)
        rgb = Image.merge('HSV', (h, s, v)).convert('RGB')
        return np.array(rgb, dtype=img.dtype)[..., ::-1]
    hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
    hsv[..., 0] += shift  # uint8: wraps around the hue circle
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL).astype(img.dtype)


def use_hue_shift() -> None:
    """Put :func:`adjust_hue` in ``mmcv.adjust_hue`` under numpy 2 (numpy 1
    runs mmcv's own)."""
    if int(np.__version__.split('.')[0]) >= 2:
        mmcv.adjust_hue = mmcv.image.adjust_hue = adjust_hue
