"""Diagnostic, not a method: RCM with ground-truth pixel labels.

RCM's pixel pseudo labels come from SupportNet's CAMs. Here they come from
the ground-truth masks of the training images instead, to measure how much
the contrast itself can lift the CAM when its labels are right (the upper
bound of better SupportNet CAMs). ``benchmarks/explore_design.py`` uses it
through ``--cfg-options`` (its design "rcm ... ground-truth labels"), scored
on ``val`` only, whose masks are never read in training.
"""
from typing import List, Sequence

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS, TRANSFORMS
from mmseg.utils import SampleList
from torch import Tensor

from projects.rcm_mam.datasets.transforms import (LoadVerifiedAnnotations,
                                                  LoadVerifiedImageFromFile)
from projects.rcm_mam.models import CAMOutput, MainSupportCAMNet

IGNORE = 255


@TRANSFORMS.register_module()
class LoadImageAndGT(LoadVerifiedImageFromFile):
    """Load the image, then its mask, so that the augmentations move both
    (the WSSS training pipelines load images only)."""

    def transform(self, results: dict) -> dict:
        return LoadVerifiedAnnotations().transform(super().transform(results))


def class_fractions(masks: Tensor, num_classes: int,
                    size: Sequence[int]) -> Tensor:
    """Share of each feature cell that each foreground class covers.

    Args:
        masks (Tensor): (N, H, W) class indices, 0 background, 255 ignored.
        num_classes (int): Foreground classes C.
        size (tuple): (h, w) of the feature map.

    Returns:
        Tensor: (N, C, h, w) fractions in [0, 1] (ignored pixels count as
        no class): these stand in for SupportNet's CAMs, so that RCM's
        normalisation and thresholds give the ground truth at feature
        resolution, boundary cells in the ignore band.
    """
    valid = masks != IGNORE
    one_hot = F.one_hot(masks.masked_fill(~valid, 0).long(),
                        num_classes + 1) * valid[..., None]
    one_hot = one_hot.permute(0, 3, 1, 2)[:, 1:].float()
    return F.adaptive_avg_pool2d(one_hot, size)


@MODELS.register_module()
class GTLabelCAMNet(MainSupportCAMNet):
    """``MainSupportCAMNet`` whose SupportNet CAMs are replaced by the
    ground truth (``class_fractions``); SupportNet's features still make
    RCM's prototypes. Train with ``train_cfg.support_scales=[1.0]``."""

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        self._masks = torch.stack(
            [s.gt_sem_seg.data[0] for s in data_samples])
        return super().loss(inputs, data_samples)

    def _support_forward(self, inputs: Tensor,
                         size: Sequence[int]) -> List[CAMOutput]:
        cams = class_fractions(self._masks, self.main_net.classifier
                               .out_channels, size)
        return [CAMOutput(out.feature, cams)
                for out in super()._support_forward(inputs, size)]
