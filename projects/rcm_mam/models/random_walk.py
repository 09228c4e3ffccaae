"""The random walk of CAMs over a pixel affinity, as repeated sparse steps.

IRN (jiwoon-ahn/irn, ``misc/indexing.py``, ``propagate_to_edge``) and PSA
(jiwoon-ahn/psa, ``infer_aff.py``) build the dense (HW, HW) transition
matrix ``T[i, j] = a_ij^beta / sum_i a_ij^beta`` (a_ij the affinity of
pixels closer than ``radius``, both directions, a_ii = 1, 0 for the rest:
IRN's from a boundary map along the path, PSA's from features), square it
``log2(steps)`` times and multiply the CAMs by it. At stride 4 a 500 x 375
image has 11,750 pixels: the matrix is 552 MB and squaring it about 10^13
operations.
Here each step is one neighbourhood operation, ``x'(j) = sum_i x(i)
T[i, j]`` over the (2 radius - 1)^2 window of j, so time and memory grow
linearly with the pixels; ``steps`` steps give the same ``x T^steps``.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .pair_paths import all_offsets, path_affinity


def transition_weights(affinity: Tensor, radius: int,
                       beta: float) -> Tensor:
    """Each pixel's incoming transition weights over its window.

    Args:
        affinity (Tensor): (P, H, W) affinities of each pixel's pairs in
            the order of ``pair_paths.all_offsets(radius)`` (0 where the
            partner is off the image).
        radius (int): Pairs closer than this are connected.
        beta (float): The affinity's exponent.

    Returns:
        Tensor: (K * K, H * W) with K = 2 radius - 1, in ``F.unfold``'s
        window order: at [k, j] the weight T[j + offset k, j]; each column
        sums to 1.
    """
    reach = radius - 1
    size = 2 * reach + 1
    weights = affinity.new_zeros(size * size, *affinity.shape[1:])
    index = torch.tensor([(dy + reach) * size + dx + reach
                          for dy, dx in all_offsets(radius)],
                         device=affinity.device)
    weights[index] = affinity**beta  # a_ij = a_ji: the pair seen from j
    weights[reach * size + reach] = 1  # a_jj
    weights = weights.flatten(1)
    return weights / weights.sum(0, keepdim=True)


def random_walk(cams: Tensor, affinity: Tensor, radius: int = 5,
                beta: float = 10, steps: int = 256) -> Tensor:
    """Propagate CAMs along a pixel affinity.

    Args:
        cams (Tensor): (C, H, W) scores.
        affinity (Tensor): (P, H, W) affinities of each pixel's pairs, as
            :func:`transition_weights` reads them.
        radius (int): Pairs closer than this are connected (IRN: 5).
        beta (float): The affinity's exponent (IRN: 10).
        steps (int): Walk length (IRN: 2^8).

    Returns:
        Tensor: (C, H, W) ``x T^steps``, x the CAMs as rows.
    """
    c, h, w = cams.shape
    reach = radius - 1
    weights = transition_weights(affinity, radius, beta)
    x = cams[None]
    for _ in range(steps):
        window = F.unfold(x, 2 * reach + 1, padding=reach)
        x = (window.view(c, -1, h * w) * weights).sum(1).view(1, c, h, w)
    return x[0]


def refine_cams(cams: Tensor, boundary: Tensor, size: Tuple[int, int],
                radius: int = 5, beta: float = 10,
                steps: int = 256) -> Tensor:
    """IRN's semantic refinement of stride-4 CAMs (jiwoon-ahn/irn,
    ``step/make_sem_seg_labels.py``): the CAMs times ``1 - boundary``,
    walked, upsampled by 4, cropped to the image and divided by their
    largest value over classes and pixels. A constant background score
    (IRN: 0.25) then makes the mask (``pseudo_mask.threshold_mask``).

    Args:
        cams (Tensor): (K, h, w) max-normalised CAMs of the image's classes.
        boundary (Tensor): (h, w) class-boundary scores in [0, 1].
        size (tuple): The image's (H, W), at most 4 (h, w).
        radius, beta, steps: The walk's (:func:`random_walk`).

    Returns:
        Tensor: (K, H, W) scores in [0, 1].
    """
    affinity = path_affinity(boundary[None], all_offsets(radius))[0]
    walked = random_walk(cams * (1 - boundary), affinity, radius, beta,
                         steps)
    up = F.interpolate(walked[None], scale_factor=4, mode='bilinear',
                       align_corners=False)[0, :, :size[0], :size[1]]
    return up / up.max().clamp(min=1e-12)


def strided(cams: Tensor, size: Tuple[int, int]) -> Tensor:
    """(K, H, W) scores resized to a feature map's (h, w) and
    max-normalised per class, as IRN's stride-4 CAMs."""
    small = F.interpolate(cams[None], size=tuple(size), mode='bilinear',
                          align_corners=False)[0]
    return small / small.flatten(1).amax(1).clamp(min=1e-5)[:, None, None]
