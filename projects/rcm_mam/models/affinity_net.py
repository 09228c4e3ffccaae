"""PSA's AffinityNet: pixel features whose distances give the affinity."""
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

from ..utils.errors import InputError
from .pair_paths import (all_offsets, feature_affinity, forward_offsets,
                         labels_at_stride, pair_labels)
from .random_walk import random_walk

STRIDE = 8  # the features', as PSA's
IGNORE_INDEX = 255  # the unknown pixels of the training labels


@MODELS.register_module()
class AffinityNet(BaseSegmentor):
    """AffinityNet (Ahn and Kwak, CVPR 2018; facts from jiwoon-ahn/psa,
    ``network/resnet38_aff.py``, ``train_aff.py``, ``infer_aff.py``).

    Three backbone levels at stride 8 each go through a bias-free 1x1 conv
    and ELU (PSA: 64, 128, 256 channels from ResNet-38d's conv4-conv6); a
    1x1 conv and ELU of their concatenation gives the pixel feature f. The
    affinity of pixels closer than ``radius`` is exp(-mean |f_i - f_j|).
    Unlike IRN's, the backbone is trained (its frozen parts as its config
    says). Training: the affinity loss (``AffinityLoss``, PSA's bg / 4 +
    fg / 4 + neg / 2) on the pair labels of ``gt_sem_seg`` read at stride
    8 (the centre of each 8 x 8 block).

    Args:
        backbone (dict): Backbone config whose outputs are the three
            levels, all at stride 8.
        in_channels (sequence): The three levels' channels.
        channels (sequence): Each level's branch channels (PSA: 64, 128,
            256).
        radius (int): Pairs are closer than this at stride 8 (PSA: 5).
        loss_affinity (dict): The loss config. Defaults to AffinityLoss.
        data_preprocessor (dict, optional): Normalisation and padding.
        train_cfg, test_cfg (dict, optional): Unused; kept for mmseg's API.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 in_channels: Sequence[int],
                 channels: Sequence[int] = (64, 128, 256),
                 radius: int = 5,
                 loss_affinity: ConfigType = dict(type='AffinityLoss'),
                 data_preprocessor: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(data_preprocessor, init_cfg)
        self.backbone = MODELS.build(backbone)
        elu = dict(type='ELU')
        self.branches = nn.ModuleList([
            ConvModule(c, o, 1, bias=False, act_cfg=elu)
            for c, o in zip(in_channels, channels)
        ])
        self.fuse = ConvModule(sum(channels), sum(channels), 1, bias=False,
                               act_cfg=elu)
        self.radius = radius
        self.loss_affinity = MODELS.build(loss_affinity)

    def init_weights(self) -> None:
        """The backbone's weights; PSA's Xavier init (gain 4) for the fusing
        conv, Kaiming (ConvModule's) for the branches."""
        super().init_weights()
        nn.init.xavier_uniform_(self.fuse.conv.weight, gain=4)

    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        """The backbone's three (N, C_i, h, w) levels."""
        levels = list(self.backbone(inputs))
        if len({x.shape[-2:] for x in levels}) != 1:
            raise InputError(
                'AffinityNet needs its backbone levels at one stride, got '
                f'sizes {[tuple(x.shape[-2:]) for x in levels]}. Fix: '
                'dilate the backbone to output stride 8 (strides=(1, 2, 1, '
                '1), dilations=(1, 1, 2, 4) for a ResNet).')
        return levels

    def _forward(self, inputs: Tensor,
                 data_samples: SampleList = None) -> Tensor:
        """(N, D, h, w) pixel features at stride 8."""
        levels = [b(x) for b, x in zip(self.branches,
                                       self.extract_feat(inputs))]
        return self.fuse(torch.cat(levels, dim=1))

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict:
        """The affinity loss of (N, 3, H, W) crops whose ``gt_sem_seg``
        holds the labels (``pseudo_mask.psa_labels``)."""
        features = self._forward(inputs)
        labels = labels_at_stride(
            torch.stack([s.gt_sem_seg.data[0] for s in data_samples]).long(),
            STRIDE, features.shape[-2:], IGNORE_INDEX)
        offsets = forward_offsets(self.radius)
        loss = self.loss_affinity(
            feature_affinity(features, offsets),
            *pair_labels(labels, offsets, IGNORE_INDEX))
        return {self.loss_affinity.loss_name: loss}

    def affinity(self, inputs: Tensor) -> Tensor:
        """The affinities the walk reads.

        Args:
            inputs (Tensor): (1, 3, H, W) normalised image.

        Returns:
            Tensor: (P, h, w) at stride 8, P = len(all_offsets(radius)).
        """
        return feature_affinity(self._forward(inputs),
                                all_offsets(self.radius))[0]

    def refine(self, inputs: Tensor, cams: Tensor, alpha: float = 16,
               beta: float = 8, steps: int = 256) -> Tensor:
        """PSA's walk of an image's CAMs (``infer_aff.py``): the background
        ``(1 - max)^alpha`` beside the CAMs, average-pooled by 8 (the image
        padded to a multiple of 8), walked over the affinities, upsampled.

        Args:
            inputs (Tensor): (1, 3, H, W) normalised image.
            cams (Tensor): (K, H, W) max-normalised CAMs of its K classes.
            alpha (float): The background's exponent (PSA: 16).
            beta, steps: The walk's (PSA: 8, 2^8).

        Returns:
            Tensor: (1 + K, H, W) scores, the background's first.
        """
        h, w = cams.shape[1:]
        pad = (0, -w % STRIDE, 0, -h % STRIDE)
        scores = torch.cat([(1 - cams.amax(0, keepdim=True))**alpha, cams])
        pooled = F.avg_pool2d(F.pad(scores, pad), STRIDE)
        walked = random_walk(pooled, self.affinity(F.pad(inputs, pad)),
                             self.radius, beta, steps)
        return F.interpolate(walked[None], scale_factor=STRIDE,
                             mode='bilinear', align_corners=False)[0, :, :h,
                                                                   :w]

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        """(N, D, h, w) pixel features."""
        return self._forward(inputs)

    def predict(self, inputs: Tensor,
                data_samples: SampleList = None) -> SampleList:
        """Each sample with its stride-8 affinities (P, h, w) as
        ``pred_affinity``."""
        for sample, image in zip(data_samples, inputs):
            sample.set_data(dict(pred_affinity=PixelData(
                data=self.affinity(image[None]))))
        return data_samples
