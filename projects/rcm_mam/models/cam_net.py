"""MainNet (and, as its EMA copy, SupportNet): backbone and CAM head."""
from typing import NamedTuple

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType
from torch import Tensor


class CAMOutput(NamedTuple):
    """What one forward pass of a :class:`CAMNet` gives.

    Attributes:
        feature (Tensor): (N, D, h, w) pixel features (the projection's
            output, after its activation if any, which the classifier reads
            and RCM contrasts).
        cam (Tensor): (N, C, h, w) class activation maps (raw scores).
        logits (Tensor): (N, C) image logits, the global average of ``cam``.
    """
    feature: Tensor
    cam: Tensor
    logits: Tensor


@MODELS.register_module()
class CAMNet(BaseModule):
    """Backbone, 1x1 projection to a pixel feature, bias-free 1x1 classifier.

    The image logits are the global average of the CAMs.

    Args:
        backbone (dict): Backbone config; its last output map is used.
        in_channels (int): Channels of that map (2048 for ResNet-50).
        num_classes (int): Foreground classes C. Defaults to 20.
        channels (int): Dimension D of the pixel feature (a linear
            projection). Defaults to 256.
        projection_bias (bool): Whether the projection has a bias. With one,
            every CAM carries a learned constant (the classifier applied to
            the bias), which moves where ReLU and the background threshold
            cut; IRN's CAM has none. Defaults to True.
        act_cfg (dict, optional): Activation after the projection, e.g.
            ``dict(type='ReLU')`` as the authors' network (the CAMs and
            RCM's feature are then the ReLU'd feature's); None: the
            projection is linear. Defaults to None.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 in_channels: int,
                 num_classes: int = 20,
                 channels: int = 256,
                 projection_bias: bool = True,
                 act_cfg: OptConfigType = None,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg)
        self.backbone = MODELS.build(backbone)
        self.projection = ConvModule(in_channels, channels, 1,
                                     bias=projection_bias, act_cfg=act_cfg)
        self.classifier = nn.Conv2d(channels, num_classes, 1, bias=False)

    def forward(self, images: Tensor) -> CAMOutput:
        """CAMs and pixel features of (N, 3, H, W) normalised images."""
        feature = self.projection(self.backbone(images)[-1])
        cam = self.classifier(feature)
        return CAMOutput(feature, cam, cam.mean(dim=(2, 3)))
