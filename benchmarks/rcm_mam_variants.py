"""Designs that lost on ``val``, kept so that their exploration rows rerun.

``benchmarks/explore_design.py`` tried these against the defaults and
``val`` rejected them (docs/random_init_regime.md, "Design choices"); they
are not part of the model, and its designs select them through
``--cfg-options``:

- ``RampedCAMNet``: RCM's and MAM's weights ramp up linearly from 0 over
  ``ramp_iters`` iterations (the designs "..., ramp");
- ``ScaleOneBNStatsCAMNet``: MAM's rescaled MainNet passes leave the
  BatchNorm running statistics to the scale-1 pass ("..., BN stats
  scale 1");
- ``ContrastHeadCAMNet``: RCM contrasts a separate 1x1 projection of the
  backbone map, not the feature the classifier reads ("..., contrast
  head");
- ``UnlocatedRCMLoss`` / ``UnlocatedMAMLoss``: ``skip_missed='unlocated'``,
  a class counts as missed only where SupportNet scores it positive
  nowhere ("..., skip unlocated").
"""
from contextlib import contextmanager
from typing import Iterator

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.logging import MessageHub
from mmseg.registry import MODELS
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from projects.rcm_mam.models import CAMNet, CAMOutput, MainSupportCAMNet
from projects.rcm_mam.models.losses import MAMLoss, RCMLoss, SupportLoss


@MODELS.register_module()
class RampedCAMNet(MainSupportCAMNet):
    """``MainSupportCAMNet`` whose RCM and MAM weights ramp up linearly
    from 0 to their ``loss_weight`` over the first ``ramp_iters``
    iterations of the run."""

    def __init__(self, ramp_iters: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.ramp_iters = ramp_iters

    def _weighted(self, loss_module: SupportLoss, loss: Tensor) -> Tensor:
        iteration = MessageHub.get_current_instance().get_info('iter', 0)
        return super()._weighted(loss_module, loss) * min(
            1.0, iteration / self.ramp_iters)


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


@MODELS.register_module()
class ScaleOneBNStatsCAMNet(MainSupportCAMNet):
    """``MainSupportCAMNet`` whose MAM passes at the other scales leave
    BatchNorm's running statistics (which SupportNet copies and inference
    uses) to the scale-1 pass; no effect with frozen BN."""

    def _mam_main_cams(self, images: Tensor, cam: Tensor) -> Tensor:
        with frozen_bn_stats(self.main_net):
            return super()._mam_main_cams(images, cam)


@MODELS.register_module()
class ContrastHeadCAMNet(CAMNet):
    """``CAMNet`` whose pixel feature for RCM is a separate 1x1 projection
    of the backbone map, so that the contrast does not reshape the feature
    the classifier reads.

    The head is named ``projection_rcm``: the schedules' 10x learning rate
    of the new layers (key ``main_net.projection``) reaches it as it
    reaches the projection.
    """

    def __init__(self, in_channels: int, channels: int = 256,
                 **kwargs) -> None:
        super().__init__(in_channels=in_channels, channels=channels,
                         **kwargs)
        self.projection_rcm = ConvModule(in_channels, channels, 1,
                                         act_cfg=None)

    def forward(self, images: Tensor) -> CAMOutput:
        x = self.backbone(images)[-1]
        cam = self.classifier(self.projection(x))
        return CAMOutput(self.projection_rcm(x), cam, cam.mean(dim=(2, 3)))


class SkipUnlocated:
    """Adds ``skip_missed='unlocated'`` to a :class:`SupportLoss`: a
    labelled class is missed where SupportNet has no positive score at any
    scale and pixel."""
    missed_criteria = ('unlocated', 'unrecognised')

    def missed(self, support_cams: Tensor, labels: Tensor) -> Tensor:
        """(N, C) bool, by ``skip_missed`` (see :meth:`SupportLoss.missed`
        for the shapes)."""
        if self.skip_missed != 'unlocated':
            return super().missed(support_cams, labels)
        return labels.bool() & ~(support_cams.flatten(3).amax(dim=(0, 3)) > 0)


@MODELS.register_module()
class UnlocatedRCMLoss(SkipUnlocated, RCMLoss):
    """``RCMLoss`` that takes ``skip_missed='unlocated'`` too."""


@MODELS.register_module()
class UnlocatedMAMLoss(SkipUnlocated, MAMLoss):
    """``MAMLoss`` that takes ``skip_missed='unlocated'`` too."""
