"""CAM operations shared by RCM, MAM and pseudo-label inference."""
from contextlib import contextmanager
from typing import (Callable, Iterable, Iterator, List, Optional, Sequence,
                    Tuple)

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.models.utils import resize
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from ..utils.errors import InputError
from .cam_net import CAMOutput


def rescale(images: Tensor, scale: float) -> Tensor:
    """(N, 3, H, W) images resized by ``scale`` (bilinear)."""
    if scale == 1:
        return images
    return F.interpolate(images, scale_factor=scale, mode='bilinear',
                         align_corners=False)


@contextmanager
def frozen_bn_stats(module: nn.Module) -> Iterator[None]:
    """Leave the BatchNorm running statistics of ``module`` unchanged inside.

    In training mode the batch statistics still normalise (momentum 0 only
    stops the running averages from moving); PyTorch has no switch for
    this, and a module in eval mode would normalise with the running
    statistics instead.
    """
    norms = [m for m in module.modules() if isinstance(m, _BatchNorm)]
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.momentum = 0.0
    try:
        yield
    finally:
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum


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
        outputs.append(out._replace(cam=resize(
            out.cam, size=size, mode='bilinear', align_corners=False)))
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


MISSED = ('unlocated', 'unrecognised')


def check_missed_criterion(criterion: Optional[str], key: str) -> None:
    """Raise a one-line error for an unknown ``skip_missed`` value."""
    if criterion is not None and criterion not in MISSED:
        raise InputError(f'{key}={criterion!r} is not a criterion. Fix: '
                         "use None, 'unlocated' or 'unrecognised'.")


def missed_classes(support_cams: Tensor, labels: Tensor,
                   criterion: str) -> Tensor:
    """The labelled classes SupportNet misses in each image.

    Such a class contradicts the image label, and the RCM / MAM targets
    SupportNet gives it (background, or a CAM that is not on the object)
    would train the class away.

    Args:
        support_cams (Tensor): (S, N, C, h, w) SupportNet CAMs (raw).
        labels (Tensor): (N, C) multi-hot image labels.
        criterion (str): 'unlocated': no positive score at any scale and
            pixel; 'unrecognised': the image logit (the mean score over
            scales and pixels) is not positive, SupportNet's classifier
            says the class is absent.

    Returns:
        Tensor: (N, C) bool.
    """
    if criterion == 'unlocated':
        found = support_cams.flatten(3).amax(dim=(0, 3)) > 0
    else:
        found = support_cams.mean(dim=(0, 3, 4)) > 0
    return labels.bool() & ~found


def labels_from_samples(data_samples) -> Tensor:
    """(N, C) multi-hot image labels stacked from the data samples."""
    return torch.stack([s.gt_score for s in data_samples])
