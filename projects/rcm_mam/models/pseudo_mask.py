"""From CAM scores to a pseudo mask: background threshold, dense CRF, and
IRN's confident labels."""
from typing import Optional, Sequence

import numpy as np

from ..utils.errors import InputError

# Dense CRF settings. ``unary``: 'label' (IRN's: the thresholded mask, its
# label with probability ``gt_prob``) or 'prob' (PSA's and SEAM's: -log of
# the background threshold and the class scores, so that weak scores give
# way to the image); the pairwise terms are PSA's and SEAM's (IRN's label
# CRF uses bilateral_sxy=50, bilateral_srgb=5). ``gt_prob`` is read by the
# 'label' unary only.
DEFAULT_CRF = dict(unary='label', iterations=10, gt_prob=0.7, gauss_sxy=3,
                   gauss_compat=3, bilateral_sxy=80, bilateral_srgb=13,
                   bilateral_compat=10)
CRF_UNARIES = ('label', 'prob')
# IRN's label CRF for its confident labels (jiwoon-ahn/irn,
# misc/imutils.py crf_inference_label): the 'label' unary with tighter
# bilateral terms than the pseudo masks'
IRN_LABEL_CRF = dict(DEFAULT_CRF, bilateral_sxy=50, bilateral_srgb=5)


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


def check_crf(crf: dict, key: str) -> None:
    """Fail early, with the fix, on unknown CRF settings or when CRF is
    asked for but not installed; ``key`` names the setting in the config."""
    unknown = sorted(set(crf) - set(DEFAULT_CRF))
    if unknown:
        raise InputError(f'{key} has unknown keys {unknown}. Fix: use '
                         f'{sorted(DEFAULT_CRF)}.')
    unary = crf.get('unary', DEFAULT_CRF['unary'])
    if unary not in CRF_UNARIES:
        raise InputError(f"{key}.unary={unary!r} is not a unary. Fix: use "
                         "'label' or 'prob'.")
    try:
        import pydensecrf.densecrf  # noqa: F401
    except ImportError:
        raise InputError('dense CRF is switched on (crf=...) but pydensecrf '
                         'is not installed. Fix: pip install pydensecrf2==1.1'
                         ' (tools/setup_env.sh does), or set crf=None.')


def crf_unary(fg_scores: np.ndarray, threshold: float, keys: Sequence[int],
              params: dict) -> np.ndarray:
    """The CRF's (K + 1, H * W) unary energy over the background and the
    image's classes ``keys`` (see :data:`DEFAULT_CRF`)."""
    from pydensecrf.utils import unary_from_labels, unary_from_softmax

    keys = np.asarray(keys, dtype=np.int64)
    if params['unary'] == 'prob':
        background = np.full((1, *fg_scores.shape[1:]), threshold)
        return unary_from_softmax(
            np.concatenate([background, fg_scores[keys - 1]]).astype(
                np.float32))
    lookup = np.zeros(256, dtype=np.int64)
    lookup[keys] = np.arange(1, len(keys) + 1)
    return unary_from_labels(lookup[threshold_mask(fg_scores, threshold)],
                             len(keys) + 1, gt_prob=params['gt_prob'],
                             zero_unsure=False)


def dense_crf(image: np.ndarray, unary: np.ndarray,
              params: dict) -> np.ndarray:
    """Mean-field inference of a fully connected CRF (Krahenbuhl and
    Koltun) with the pairwise terms of ``params``.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        unary (np.ndarray): (L, H * W) unary energy.
        params (dict): :data:`DEFAULT_CRF`'s keys.

    Returns:
        np.ndarray: (L, H, W) label probabilities.
    """
    import pydensecrf.densecrf as dcrf

    h, w = image.shape[:2]
    model = dcrf.DenseCRF2D(w, h, len(unary))
    model.setUnaryEnergy(np.ascontiguousarray(unary))
    model.addPairwiseGaussian(sxy=params['gauss_sxy'],
                              compat=params['gauss_compat'])
    model.addPairwiseBilateral(sxy=params['bilateral_sxy'],
                               srgb=params['bilateral_srgb'],
                               rgbim=np.ascontiguousarray(image),
                               compat=params['bilateral_compat'])
    return np.array(model.inference(params['iterations'])).reshape(-1, h, w)


def crf_refine(image: np.ndarray, fg_scores: np.ndarray, threshold: float,
               keys: Sequence[int], crf: Optional[dict] = None) -> np.ndarray:
    """The pseudo mask of ``fg_scores`` at ``threshold`` refined by a fully
    connected CRF, its labels restricted to the background and the image's
    classes ``keys``.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        fg_scores (np.ndarray): (C, H, W) class scores in [0, 1], as
            :func:`threshold_mask` reads them.
        threshold (float): Background score.
        keys (Sequence[int]): Foreground label values (class + 1) present
            in the image.
        crf (dict, optional): Overrides of :data:`DEFAULT_CRF`.

    Returns:
        np.ndarray: (H, W) uint8 refined labels.
    """
    params = {**DEFAULT_CRF, **(crf or {})}
    values = np.array([0, *keys], dtype=np.uint8)
    q = dense_crf(image, crf_unary(fg_scores, threshold, keys, params),
                  params)
    return values[q.argmax(axis=0)]


def confident_labels(image: np.ndarray, fg_scores: np.ndarray,
                     keys: Sequence[int], fg_threshold: float = 0.3,
                     bg_threshold: float = 0.05,
                     crf: Optional[dict] = None,
                     ignore_index: int = 255) -> np.ndarray:
    """IRN's training labels for inter-pixel relations
    (jiwoon-ahn/irn, ``step/cam_to_ir_label.py``).

    Two masks, each refined by the label CRF: with a high background
    threshold (confident foreground) and a low one (confident background).
    A pixel keeps the first's class where it is foreground, is background
    where both say so, and is unknown otherwise.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        fg_scores (np.ndarray): (C, H, W) class scores in [0, 1].
        keys (Sequence[int]): The image's foreground label values.
        fg_threshold (float): Background score of the foreground mask.
        bg_threshold (float): Background score of the background mask.
        crf (dict, optional): CRF settings; None: :data:`IRN_LABEL_CRF`.
        ignore_index (int): The unknown pixels' value.

    Returns:
        np.ndarray: (H, W) uint8 labels.
    """
    crf = IRN_LABEL_CRF if crf is None else crf
    fg = crf_refine(image, fg_scores, fg_threshold, keys, crf)
    bg = crf_refine(image, fg_scores, bg_threshold, keys, crf)
    return np.where(fg > 0, fg, np.where(bg == 0, 0,
                                         ignore_index)).astype(np.uint8)


def psa_labels(image: np.ndarray, fg_scores: np.ndarray,
               keys: Sequence[int], low_alpha: float = 4,
               high_alpha: float = 32,
               ignore_index: int = 255) -> np.ndarray:
    """PSA's training labels for AffinityNet (jiwoon-ahn/psa,
    ``infer_cls.py`` and ``voc12/data.py``).

    The background score ``(1 - max_c score)^alpha`` beside the image's
    class scores, each refined by a dense CRF with their probabilities as
    the unary and :data:`DEFAULT_CRF`'s pairwise terms (PSA's): at the low
    alpha the background is strong (its foreground is confident), at the
    high one weak (its background is confident). A pixel is background
    where the high alpha says so, else the low alpha's class where that is
    foreground, else unknown. PSA combines the CRF probabilities after
    average-pooling them by 8; here at full size.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        fg_scores (np.ndarray): (C, H, W) class scores in [0, 1].
        keys (Sequence[int]): The image's foreground label values.
        low_alpha, high_alpha (float): The two exponents (PSA: 4, 32).
        ignore_index (int): The unknown pixels' value.

    Returns:
        np.ndarray: (H, W) uint8 labels.
    """
    from pydensecrf.utils import unary_from_softmax

    scores = fg_scores[np.asarray(keys, dtype=np.int64) - 1]
    values = np.array([0, *keys], dtype=np.uint8)
    masks = []
    for alpha in (low_alpha, high_alpha):
        background = (1 - scores.max(axis=0, initial=0))**alpha
        probs = np.concatenate([background[None], scores]).astype(np.float32)
        q = dense_crf(image, unary_from_softmax(probs), DEFAULT_CRF)
        masks.append(values[q.argmax(axis=0)])
    low, high = masks
    return np.where(high == 0, 0, np.where(low > 0, low,
                                           ignore_index)).astype(np.uint8)


# the refinement networks' training labels: each form's function and its
# defaults (IRN's settings recorded without a form, as they were first)
LABEL_FORMS = dict(
    irn=(confident_labels,
         dict(fg_threshold=0.3, bg_threshold=0.05, crf=IRN_LABEL_CRF)),
    psa=(psa_labels, dict(low_alpha=4, high_alpha=32)))


def resolved_confident(confident: dict) -> dict:
    """The training-label settings with their form's defaults filled in."""
    form = confident.get('form', 'irn')
    settings = {**LABEL_FORMS[form][1], **confident}
    if form == 'irn':
        settings['crf'] = {**IRN_LABEL_CRF, **(confident.get('crf') or {})}
    return settings


def check_confident(confident: dict, crf: Optional[dict]) -> None:
    """Fail early, with the fix, on training-label settings that their
    form's function would not read."""
    form = confident.get('form', 'irn')
    if form not in LABEL_FORMS:
        raise InputError(f'PseudoLabelHook confident.form={form!r} is not a '
                         f'form. Fix: use one of {sorted(LABEL_FORMS)}.')
    known = {'form', *LABEL_FORMS[form][1]}
    unknown = sorted(set(confident) - known)
    if unknown:
        raise InputError(f'PseudoLabelHook confident has unknown keys '
                         f'{unknown}. Fix: use {sorted(known)}.')
    if crf is not None:
        raise InputError('PseudoLabelHook has both crf and confident set; '
                         'confident labels use their own CRF. Fix: set '
                         'crf=None, or put CRF settings in confident.crf.')
    if form == 'irn':
        check_crf(resolved_confident(confident)['crf'], 'confident.crf')


def training_labels(image: np.ndarray, fg_scores: np.ndarray,
                    keys: Sequence[int], settings: dict) -> np.ndarray:
    """A refinement network's training labels (classes, 0, 255 unknown) in
    the form and with the settings of :func:`resolved_confident`."""
    settings = dict(settings)
    function = LABEL_FORMS[settings.pop('form', 'irn')][0]
    return function(image, fg_scores, keys, **settings)
