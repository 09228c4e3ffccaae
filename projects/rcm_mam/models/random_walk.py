"""The random walk of CAMs over a pixel affinity, as repeated sparse steps.

IRN (jiwoon-ahn/irn, ``misc/indexing.py``, ``propagate_to_edge``) builds
the dense (HW, HW) transition matrix ``T[i, j] = a_ij^beta / sum_i
a_ij^beta`` (a_ij the path affinity of pixels closer than ``radius``, both
directions, a_ii = 1, 0 for the rest), squares it ``log2(steps)`` times
and multiplies the CAMs by it. At stride 4 a 500 x 375 image has 11,750
pixels: the matrix is 552 MB and squaring it about 10^13 operations.
Here each step is one neighbourhood operation, ``x'(j) = sum_i x(i)
T[i, j]`` over the (2 radius - 1)^2 window of j, so time and memory grow
linearly with the pixels; ``steps`` steps give the same ``x T^steps``.
"""
import torch
import torch.nn.functional as F
from torch import Tensor

from .pair_paths import all_offsets, path_affinity


def transition_weights(boundary: Tensor, radius: int, beta: float) -> Tensor:
    """Each pixel's incoming transition weights over its window.

    Args:
        boundary (Tensor): (H, W) class-boundary scores in [0, 1].
        radius (int): Pairs closer than this are connected.
        beta (float): The affinity's exponent.

    Returns:
        Tensor: (K * K, H * W) with K = 2 radius - 1, in ``F.unfold``'s
        window order: at [k, j] the weight T[j + offset k, j]; each column
        sums to 1.
    """
    reach = radius - 1
    size = 2 * reach + 1
    offsets = all_offsets(radius)
    affinity = path_affinity(boundary[None], offsets)[0]**beta
    weights = boundary.new_zeros(size * size, *boundary.shape)
    index = torch.tensor([(dy + reach) * size + dx + reach
                          for dy, dx in offsets], device=boundary.device)
    weights[index] = affinity  # a_ij = a_ji: the pair seen from j
    weights[reach * size + reach] = 1  # a_jj
    weights = weights.flatten(1)
    return weights / weights.sum(0, keepdim=True)


def random_walk(cams: Tensor, boundary: Tensor, radius: int = 5,
                beta: float = 10, steps: int = 256) -> Tensor:
    """Propagate CAMs within regions bounded by class boundaries.

    Args:
        cams (Tensor): (C, H, W) scores, already multiplied by
            ``1 - boundary`` where IRN's form is wanted.
        boundary (Tensor): (H, W) class-boundary scores in [0, 1].
        radius (int): Pairs closer than this are connected (IRN: 5).
        beta (float): The affinity's exponent (IRN: 10).
        steps (int): Walk length (IRN: 2^8).

    Returns:
        Tensor: (C, H, W) ``x T^steps``, x the CAMs as rows.
    """
    c, h, w = cams.shape
    reach = radius - 1
    weights = transition_weights(boundary, radius, beta)
    x = cams[None]
    for _ in range(steps):
        window = F.unfold(x, 2 * reach + 1, padding=reach)
        x = (window.view(c, -1, h * w) * weights).sum(1).view(1, c, h, w)
    return x[0]
