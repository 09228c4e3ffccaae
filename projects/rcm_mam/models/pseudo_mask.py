"""From CAM scores to a pseudo mask: background threshold, dense CRF."""
from typing import Optional, Sequence

import numpy as np

from ..utils.errors import InputError

# METHOD.md's standard WSSS parameters.
DEFAULT_CRF = dict(iterations=10, gt_prob=0.7, gauss_sxy=3, gauss_compat=3,
                   bilateral_sxy=80, bilateral_srgb=13, bilateral_compat=10)


def threshold_mask(fg_scores: np.ndarray, threshold: float) -> np.ndarray:
    """Label map from class scores and a constant background score.

    Args:
        fg_scores (np.ndarray): (C, H, W) scores in [0, 1] of the foreground
            classes (0 for classes absent from the image).
        threshold (float): Background score; a pixel is foreground where its
            top class scores above it (ties go to the background, as the
            argmax over [threshold, scores] does).

    Returns:
        np.ndarray: (H, W) uint8 labels, 0 background, c + 1 for class c.
    """
    top = fg_scores.max(axis=0)
    return np.where(top > threshold, fg_scores.argmax(axis=0) + 1,
                    0).astype(np.uint8)


def check_crf_available() -> None:
    """Fail early, with the fix, when CRF is asked for but not installed."""
    try:
        import pydensecrf.densecrf  # noqa: F401
    except ImportError:
        raise InputError('dense CRF is switched on (crf=...) but pydensecrf '
                         'is not installed. Fix: pip install pydensecrf2==1.1'
                         ' (tools/setup_env.sh does), or set crf=None.')


def crf_refine(image: np.ndarray, mask: np.ndarray, keys: Sequence[int],
               crf: Optional[dict] = None) -> np.ndarray:
    """Refine a label map with a fully connected CRF (Krahenbuhl and Koltun).

    The unary is the label map itself (probability ``gt_prob`` for the
    given label, as IRN does); the labels are restricted to the background
    and the image's classes ``keys``.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        mask (np.ndarray): (H, W) labels with values in {0} + keys.
        keys (Sequence[int]): Foreground label values present in the image.
        crf (dict, optional): Overrides of :data:`DEFAULT_CRF`.

    Returns:
        np.ndarray: (H, W) uint8 refined labels.
    """
    check_crf_available()
    import pydensecrf.densecrf as dcrf
    from pydensecrf.utils import unary_from_labels

    params = {**DEFAULT_CRF, **(crf or {})}
    values = np.array([0, *keys], dtype=np.uint8)
    lookup = np.zeros(256, dtype=np.int64)
    lookup[values] = np.arange(len(values))
    h, w = mask.shape
    model = dcrf.DenseCRF2D(w, h, len(values))
    model.setUnaryEnergy(unary_from_labels(lookup[mask], len(values),
                                           gt_prob=params['gt_prob'],
                                           zero_unsure=False))
    model.addPairwiseGaussian(sxy=params['gauss_sxy'],
                              compat=params['gauss_compat'])
    model.addPairwiseBilateral(sxy=params['bilateral_sxy'],
                               srgb=params['bilateral_srgb'],
                               rgbim=np.ascontiguousarray(image),
                               compat=params['bilateral_compat'])
    q = np.array(model.inference(params['iterations'])).reshape(-1, h, w)
    return values[q.argmax(axis=0)]
