"""Diagnostics of RCM's pixel labels: other sources than SupportNet's CAMs.

RCM's pixel pseudo labels come from SupportNet's CAMs. These models give
RCM other labels, to measure how much the contrast can lift the CAM when
its labels are better:

- ``GTLabelCAMNet``: the ground-truth masks of the training images (the
  ceiling: a perfect SupportNet);
- ``CRFLabelCAMNet``: SupportNet's own multi-scale CAM, thresholded and
  refined by dense CRF on the training crop (labels that need no ground
  truth, the CRF pseudo masks being better than the seeds).

``benchmarks/explore_design.py`` uses them through ``--cfg-options`` (its
designs "... ground-truth labels" and "... CRF labels"), scored on ``val``
only, whose masks are never read in training.
"""
from typing import List, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmseg.models.utils import resize
from mmseg.registry import MODELS, TRANSFORMS
from mmseg.utils import SampleList
from torch import Tensor

from projects.rcm_mam.datasets.transforms import (LoadVerifiedAnnotations,
                                                  LoadVerifiedImageFromFile)
from projects.rcm_mam.models import CAMOutput, MainSupportCAMNet
from projects.rcm_mam.models.cam_utils import labels_from_samples
from projects.rcm_mam.models.losses.rcm_loss import (support_scores,
                                                     valid_one_hot)
from projects.rcm_mam.models.pseudo_mask import crf_refine


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
        normalisation and thresholds give the masks at feature resolution,
        boundary cells in the ignore band.
    """
    one_hot = valid_one_hot(masks, num_classes + 1)
    one_hot = one_hot.permute(0, 3, 1, 2)[:, 1:].float()
    return F.adaptive_avg_pool2d(one_hot, size)


@MODELS.register_module()
class GTLabelCAMNet(MainSupportCAMNet):
    """``MainSupportCAMNet`` whose SupportNet CAMs (RCM's and MAM's input)
    are replaced by the :func:`class_fractions` of label masks, here the
    ground truth; SupportNet's features still make RCM's prototypes. Train
    the RCM variant with ``train_cfg.support_scales=[1.0]``."""

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """The losses; the batch's samples are kept for
        :meth:`label_masks`."""
        self._samples = data_samples
        return super().loss(inputs, data_samples)

    def _support_forward(self, inputs: Tensor,
                         size: Sequence[int]) -> List[CAMOutput]:
        outputs = super()._support_forward(inputs, size)
        cams = class_fractions(self.label_masks(inputs, outputs),
                               self.main_net.classifier.out_channels, size)
        return [out._replace(cam=cams) for out in outputs]

    def label_masks(self, inputs: Tensor,
                    outputs: List[CAMOutput]) -> Tensor:
        """(N, H, W) label masks of the (N, 3, H, W) batch."""
        return torch.stack([s.gt_sem_seg.data[0] for s in self._samples])


@MODELS.register_module()
class CRFLabelCAMNet(GTLabelCAMNet):
    """``GTLabelCAMNet`` with the masks of SupportNet's CAM: its scores
    over the support scales (max-normalised, as RCM's), upsampled to the
    crop, thresholded at ``crf_threshold`` and refined by dense CRF
    (the default parameters) on the crop."""

    crf_threshold = 0.1

    def label_masks(self, inputs: Tensor,
                    outputs: List[CAMOutput]) -> Tensor:
        labels = labels_from_samples(self._samples)
        scores = resize(
            support_scores(torch.stack([out.cam for out in outputs]), labels,
                           self.cam_aggregation),
            size=inputs.shape[-2:], mode='bilinear')
        preprocessor = self.data_preprocessor
        images = (inputs * preprocessor.std + preprocessor.mean).clamp(
            0, 255).byte().permute(0, 2, 3, 1).cpu().numpy()
        masks = [
            crf_refine(image, score, self.crf_threshold,
                       np.flatnonzero(label) + 1)
            for image, score, label in zip(
                images, scores.cpu().numpy(), labels.cpu().numpy())
        ]
        return inputs.new_tensor(np.stack(masks), dtype=torch.long)
