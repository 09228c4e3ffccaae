"""Pixel pairs within a radius, the straight path between them, and the
affinity and pair labels read along it (IRN's inter-pixel relations), or
from features (PSA's AffinityNet).

IRN (Ahn et al., CVPR 2019; facts from jiwoon-ahn/irn, ``misc/indexing.py``
and ``voc12/dataloader.py``) relates every pixel to the pixels closer than
``radius`` (strictly): the offsets (dy, dx) with dy^2 + dx^2 < radius^2.
The affinity of a pair is 1 minus the highest class-boundary score on the
straight path between them: the pixels (y, x) of the pair's bounding box
whose distance to the line through both is below 1. Each unordered pair is
counted once with a forward offset (dy > 0, or dy = 0 and dx > 0).

Pairs are kept as maps, not index lists: an (N, P, H, W) tensor holds, at
pixel p and offset o, the value of the pair (p, p + o), 0 (or "no label")
where p + o is off the image.
"""
from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

Offset = Tuple[int, int]


def forward_offsets(radius: int) -> List[Offset]:
    """Each unordered pair's offset once, in IRN's search order.

    Returns:
        list: (dy, dx) with dy^2 + dx^2 < radius^2 and dy > 0 or
        (dy = 0 and dx > 0).
    """
    reach = radius - 1
    return [(0, dx) for dx in range(1, radius)] + [
        (dy, dx) for dy in range(1, radius) for dx in range(-reach, radius)
        if dy * dy + dx * dx < radius * radius
    ]


def all_offsets(radius: int) -> List[Offset]:
    """The forward offsets and their opposites (both directions of every
    pair), without (0, 0)."""
    forward = forward_offsets(radius)
    return forward + [(-dy, -dx) for dy, dx in forward]


def path(offset: Offset) -> List[Offset]:
    """The pixels on the straight path from (0, 0) to ``offset``, both
    ends included: those of the bounding box within distance 1 of the
    line through both."""
    dy, dx = offset
    length_sq = dy * dy + dx * dx
    return [(y, x) for y in range(min(0, dy), max(0, dy) + 1)
            for x in range(min(0, dx), max(0, dx) + 1)
            if (dy * x - dx * y)**2 < length_sq]


def shifted(maps: Tensor, offset: Offset, fill: float) -> Tensor:
    """``maps`` read at (y + dy, x + dx), ``fill`` off the image.

    Args:
        maps (Tensor): (N, H, W).
        offset (tuple): (dy, dx).
        fill (float): The value beyond the border.

    Returns:
        Tensor: (N, H, W).
    """
    dy, dx = offset
    h, w = maps.shape[-2:]
    r = max(abs(dy), abs(dx))
    padded = F.pad(maps, (r, r, r, r), value=fill)
    return padded[:, r + dy:r + dy + h, r + dx:r + dx + w]


def path_affinity(boundary: Tensor, offsets: List[Offset]) -> Tensor:
    """Affinity 1 - max(boundary on the path) of each pixel's pairs.

    Args:
        boundary (Tensor): (N, H, W) class-boundary scores in [0, 1].
        offsets (list): P offsets (dy, dx).

    Returns:
        Tensor: (N, P, H, W): at [n, o, y, x] the affinity of (y, x) and
        (y + dy, x + dx), 0 where the latter is off the image.
    """
    return torch.stack([
        1 - torch.stack([shifted(boundary, step, 1.0)
                         for step in path(offset)]).amax(0)
        for offset in offsets
    ], dim=1)


def feature_affinity(features: Tensor, offsets: List[Offset]) -> Tensor:
    """PSA's affinity exp(-mean |f_i - f_j|) of each pixel's pairs
    (jiwoon-ahn/psa, ``network/resnet38_aff.py``).

    Args:
        features (Tensor): (N, D, H, W) pixel features.
        offsets (list): P offsets (dy, dx).

    Returns:
        Tensor: (N, P, H, W): at [n, o, y, x] the affinity of (y, x) and
        (y + dy, x + dx), 0 where the latter is off the image.
    """
    n, d, h, w = features.shape
    flat = features.reshape(n * d, h, w)
    return torch.stack([
        torch.exp(-(features - shifted(flat, o, 0.0).view(n, d, h, w)
                    ).abs().mean(1)) *
        shifted(features.new_ones(1, h, w), o, 0.0)
        for o in offsets
    ], dim=1)


def labels_at_stride(labels: Tensor, stride: int, size: Tuple[int, int],
                     ignore_index: int = 255) -> Tensor:
    """A label map read at a feature map's stride: the pixel at the centre
    of each stride x stride block (IRN's PIL nearest resize by 1/4 reads
    4i + 2), padded with ``ignore_index`` or cropped to ``size``.

    Args:
        labels (Tensor): (N, H, W) long class indices.
        stride (int): The feature map's stride.
        size (tuple): The feature map's (h, w).
        ignore_index (int): The unknown pixels' value.

    Returns:
        Tensor: (N, h, w).
    """
    labels = labels[:, stride // 2::stride, stride // 2::stride]
    h, w = size
    return F.pad(labels, (0, w - labels.shape[2], 0, h - labels.shape[1]),
                 value=ignore_index)


def pair_labels(label: Tensor, offsets: List[Offset],
                ignore_index: int = 255) -> Tuple[Tensor, Tensor, Tensor]:
    """IRN's affinity labels from a label map with unknown pixels.

    A pair is labelled when both pixels are (not ``ignore_index``): positive
    when their classes agree (split into background pairs, class 0, and
    foreground pairs), negative when they differ.

    Args:
        label (Tensor): (N, H, W) long class indices.
        offsets (list): P offsets (dy, dx).
        ignore_index (int): The unknown pixels' value.

    Returns:
        tuple: Background-positive, foreground-positive and negative
        masks, each (N, P, H, W) float.
    """
    src = label[:, None]
    dst = torch.stack([shifted(label, o, ignore_index) for o in offsets], 1)
    known = (src != ignore_index) & (dst != ignore_index)
    same = (src == dst) & known
    return ((same & (src == 0)).float(), (same & (src != 0)).float(),
            (~same & known).float())
