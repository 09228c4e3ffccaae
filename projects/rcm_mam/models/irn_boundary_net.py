"""IRN's class-boundary branch on a frozen backbone."""
from typing import Dict, List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.structures import PixelData
from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, SampleList
from torch import Tensor

from .pair_paths import (forward_offsets, labels_at_stride, pair_labels,
                         path_affinity)
from .random_walk import refine_cams, strided

STRIDE = 4  # the boundary map's, as IRN's
IGNORE_INDEX = 255  # the unknown pixels of the confident labels


def stem_and_stages(backbone: nn.Module, images: Tensor) -> List[Tensor]:
    """The stem's output (after its max pool) and every stage's of an
    mmpretrain ResNet.

    ``ResNet.forward`` returns stages only (``out_indices``); IRN also reads
    the stem, so the stages are run here one by one as ``ResNet.forward``
    runs them.

    Returns:
        list: 5 maps (N, C_i, h_i, w_i), the first two at stride 4.
    """
    if backbone.deep_stem:
        x = backbone.stem(images)
    else:
        x = backbone.relu(backbone.norm1(backbone.conv1(images)))
    maps = [backbone.maxpool(x)]
    for name in backbone.res_layers:
        maps.append(getattr(backbone, name)(maps[-1]))
    return maps


@MODELS.register_module()
class IRNBoundaryNet(BaseSegmentor):
    """The class-boundary branch of IRN (Ahn et al., CVPR 2019; facts from
    jiwoon-ahn/irn, ``net/resnet50_irn.py``, ``step/train_irn.py``).

    The frozen backbone's stem and its four stages each go through a 1x1
    conv, GroupNorm, upsampling to stride 4 and ReLU; a 1x1 conv of their
    concatenation gives the boundary logit. Training: IRN's affinity loss
    between the boundary's path affinities and the pair labels read from
    ``gt_sem_seg`` (confident classes, 255 unknown) at stride 4. IRN's
    displacement branch serves instance masks only and is left out.

    Args:
        backbone (dict): mmpretrain ResNet config, output stride 16 (IRN:
            the ImageNet ResNet-50, not the CAM network's weights).
        in_channels (sequence): Channels of the stem and the 4 stages.
        channels (int): Channels of each level's branch. Defaults to 32.
        num_groups (int): GroupNorm groups. Defaults to 4.
        radius (int): Training pairs are closer than this, at stride 4.
            Defaults to 10.
        loss_affinity (dict): The loss config. Defaults to AffinityLoss.
        data_preprocessor (dict, optional): Normalisation and padding.
        train_cfg, test_cfg (dict, optional): Unused; kept for mmseg's API.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 in_channels: Sequence[int],
                 channels: int = 32,
                 num_groups: int = 4,
                 radius: int = 10,
                 loss_affinity: ConfigType = dict(type='AffinityLoss'),
                 data_preprocessor: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(data_preprocessor, init_cfg)
        self.backbone = MODELS.build(backbone)
        self.backbone.requires_grad_(False)
        self.branches = nn.ModuleList([
            ConvModule(c, channels, 1, bias=False, act_cfg=None,
                       norm_cfg=dict(type='GN', num_groups=num_groups))
            for c in in_channels
        ])
        self.fuse = nn.Conv2d(len(in_channels) * channels, 1, 1)
        self.offsets = forward_offsets(radius)
        self.loss_affinity = MODELS.build(loss_affinity)

    def train(self, mode: bool = True) -> 'IRNBoundaryNet':
        """Train the head; the backbone stays in eval mode (frozen BN)."""
        super().train(mode)
        self.backbone.eval()
        return self

    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        """The frozen backbone's 5 maps of (N, 3, H, W) images."""
        with torch.no_grad():
            return stem_and_stages(self.backbone, inputs)

    def _forward(self, inputs: Tensor,
                 data_samples: SampleList = None) -> Tensor:
        """(N, 1, h, w) boundary logits at stride 4 (h = ceil(H / 4))."""
        maps = self.extract_feat(inputs)
        size = maps[0].shape[-2:]
        levels = []
        for branch, x in zip(self.branches, maps):
            x = branch(x)
            factor = round(size[0] / x.shape[-2])
            if factor > 1:  # IRN upsamples by the factor, then crops
                x = F.interpolate(x, scale_factor=factor, mode='bilinear',
                                  align_corners=False)
            levels.append(F.relu(x[..., :size[0], :size[1]]))
        return self.fuse(torch.cat(levels, dim=1))

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict:
        """The affinity loss of (N, 3, H, W) crops whose ``gt_sem_seg``
        holds the confident labels."""
        boundary = torch.sigmoid(self._forward(inputs))[:, 0]
        labels = labels_at_stride(
            torch.stack([s.gt_sem_seg.data[0] for s in data_samples]).long(),
            STRIDE, boundary.shape[1:], IGNORE_INDEX)
        affinity = path_affinity(boundary, self.offsets)
        loss = self.loss_affinity(
            affinity, *pair_labels(labels, self.offsets, IGNORE_INDEX))
        return {self.loss_affinity.loss_name: loss}

    def boundary(self, inputs: Tensor) -> Tensor:
        """IRN's inference: the sigmoid of the logits averaged over the
        image and its flip.

        Args:
            inputs (Tensor): (1, 3, H, W) normalised image.

        Returns:
            Tensor: (h, w) boundary scores at stride 4.
        """
        logits = self._forward(torch.cat([inputs, inputs.flip(-1)]))
        return torch.sigmoid((logits[0, 0] + logits[1, 0].flip(-1)) / 2)

    def refine(self, inputs: Tensor, cams: Tensor,
               bg_threshold: float = 0.25, radius: int = 5,
               beta: float = 10, steps: int = 256) -> Tensor:
        """IRN's walk of an image's CAMs over its boundary
        (``random_walk.refine_cams`` of the CAMs at stride 4).

        Args:
            inputs (Tensor): (1, 3, H, W) normalised image.
            cams (Tensor): (K, H, W) max-normalised CAMs of its K classes.
            bg_threshold (float): The background score (IRN: 0.25).
            radius, beta, steps: The walk's (IRN: 5, 10, 256).

        Returns:
            Tensor: (1 + K, H, W) scores, the background's first.
        """
        boundary = self.boundary(inputs)
        scores = refine_cams(strided(cams, boundary.shape), boundary,
                             cams.shape[1:], radius, beta, steps)
        return torch.cat([scores.new_full((1, *scores.shape[1:]),
                                          bg_threshold), scores])

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        """(N, 1, h, w) boundary scores, flip-averaged per image."""
        return torch.stack([self.boundary(x[None])[None] for x in inputs])

    def predict(self, inputs: Tensor,
                data_samples: SampleList = None) -> SampleList:
        """Each sample with its stride-4 boundary map as
        ``pred_boundary``."""
        boundaries = self.encode_decode(inputs, None)
        for sample, boundary in zip(data_samples, boundaries):
            sample.set_data(dict(pred_boundary=PixelData(data=boundary)))
        return data_samples
