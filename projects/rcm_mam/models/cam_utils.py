"""CAM operations shared by RCM, MAM and pseudo-label inference."""
from typing import Callable, Iterable, List, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmseg.models.utils import resize
from torch import Tensor

from ..utils.errors import InputError
from .cam_net import CAMOutput


def rescale(images: Tensor, scale: float) -> Tensor:
    """(N, 3, H, W) images resized by ``scale`` (bilinear)."""
    if scale == 1:
        return images
    return F.interpolate(images, scale_factor=scale, mode='bilinear',
                         align_corners=False)


def resized(x: Tensor, size: Sequence[int]) -> Tensor:
    """(N, C, h, w) maps bilinearly resized to ``size`` (unchanged if they
    have it)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return resize(x, size=tuple(size), mode='bilinear', align_corners=False)


def multi_scale_forward(net: Callable[[Tensor], CAMOutput], images: Tensor,
                        scales: Sequence[float],
                        size: Tuple[int, int]) -> List[CAMOutput]:
    """Run ``net`` on ``images`` at each scale, CAMs resized to ``size``.

    Args:
        net: MainNet or SupportNet.
        images (Tensor): (N, 3, H, W) normalised images.
        scales (Sequence[float]): Input scales.
        size (tuple): (h, w) all CAMs are resized to (bilinear).

    Returns:
        list[CAMOutput]: One per scale; features keep their own size,
        logits are those of the CAM before resizing.
    """
    outputs = []
    for scale in scales:
        out = net(rescale(images, scale))
        outputs.append(out._replace(cam=resized(out.cam, size)))
    return outputs


# the order of ReLU and the sum over passes (scales, flips) in a CAM's
# scores: 'relu_then_sum' (IRN: each pass's CAM ReLU'd, then summed) or
# 'sum_then_relu' (the raw CAMs summed, then ReLU'd: a pass's negative
# scores cancel another's positive ones)
CAM_AGGREGATIONS = ('relu_then_sum', 'sum_then_relu')


def check_cam_aggregation(order: str) -> None:
    """Raise a one-line error for an unknown ``cam_aggregation``."""
    if order not in CAM_AGGREGATIONS:
        raise InputError(f'model.cam_aggregation={order!r} is not an order. '
                         "Fix: use 'relu_then_sum' or 'sum_then_relu'.")


def sum_passes(cams: Iterable[Tensor], order: str) -> Tensor:
    """The sum of several passes' CAMs, each ReLU'd first by ``order``.

    Args:
        cams (Iterable[Tensor]): (N, C, h, w) raw CAMs of each pass (an
            (S, N, C, h, w) tensor iterates over its S passes).
        order (str): One of :data:`CAM_AGGREGATIONS`; the ReLU after the
            sum is :func:`max_normalise`'s.

    Returns:
        Tensor: (N, C, h, w) summed scores.
    """
    relu_first = order == 'relu_then_sum'
    return sum(F.relu(cam) if relu_first else cam for cam in cams)


def max_normalise(cams: Tensor, labels: Tensor, eps: float = 1e-5) -> Tensor:
    """ReLU, zero the classes absent from the image, divide by each max.

    Args:
        cams (Tensor): (N, C, h, w) class scores.
        labels (Tensor): (N, C) multi-hot image labels.
        eps (float): Keeps all-zero maps at zero.

    Returns:
        Tensor: (N, C, h, w) scores in [0, 1]; 0 for absent classes.
    """
    cams = F.relu(cams) * labels[:, :, None, None]
    peak = cams.flatten(2).max(dim=2).values[:, :, None, None]
    return cams / (peak + eps)


def labels_from_samples(data_samples) -> Tensor:
    """(N, C) multi-hot image labels stacked from the data samples."""
    return torch.stack([s.gt_score for s in data_samples])
