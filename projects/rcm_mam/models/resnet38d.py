"""ResNet-38d, the backbone of the paper, PSA, SEAM and their kin.

Wu et al.'s "wider or deeper" model A1 as PSA (jiwoon-ahn/psa,
``network/resnet38d.py``) uses it: pre-activation residual blocks, output
stride 8 (the last three stages dilated by 2, 4 and 4), a 4,096-channel
last block. The layers keep the names of PSA's converted ImageNet weights
(``b4_3.bn_branch2a.weight``, ...), so that file, or the MXNet original
converted by ``tools/model_converters/resnet38d_psa.py``, loads as it is;
mmcv's ``ConvModule`` would rename them, so the blocks are written here.
"""
from typing import Optional, Sequence, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import OptConfigType
from torch import Tensor


class PreActBlock(nn.Module):
    """Two 3x3 convolutions after BN + ReLU (blocks b2 to b5).

    Args:
        in_channels (int): Input channels.
        mid_channels (int): Channels between the convolutions.
        out_channels (int): Output channels.
        stride (int): Stride of the first convolution.
        dilation (int): Dilation of the second (and, unless
            ``first_dilation`` is given, the first) convolution.
        first_dilation (int, optional): Dilation of the first convolution.
    """

    def __init__(self,
                 in_channels: int,
                 mid_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 dilation: int = 1,
                 first_dilation: Optional[int] = None) -> None:
        super().__init__()
        first = first_dilation or dilation
        self.bn_branch2a = nn.BatchNorm2d(in_channels)
        self.conv_branch2a = nn.Conv2d(in_channels, mid_channels, 3, stride,
                                       padding=first, dilation=first,
                                       bias=False)
        self.bn_branch2b1 = nn.BatchNorm2d(mid_channels)
        self.conv_branch2b1 = nn.Conv2d(mid_channels, out_channels, 3,
                                        padding=dilation, dilation=dilation,
                                        bias=False)
        self.conv_branch1 = None
        if in_channels != out_channels or stride != 1:
            self.conv_branch1 = nn.Conv2d(in_channels, out_channels, 1,
                                          stride, bias=False)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """The block's (N, out, h, w) output and its (N, in, H, W) input
        after BN + ReLU."""
        pre = F.relu(self.bn_branch2a(x))
        shortcut = x if self.conv_branch1 is None else self.conv_branch1(pre)
        branch = F.relu(self.bn_branch2b1(self.conv_branch2a(pre)))
        return shortcut + self.conv_branch2b1(branch), pre


class PreActBottleneck(nn.Module):
    """1x1, 3x3 (dilated), 1x1 convolutions after BN + ReLU, with spatial
    dropout before the last two (blocks b6 and b7); the shortcut is a 1x1
    convolution.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels (the inner ones are a quarter
            and a half of it).
        dilation (int): Dilation of the 3x3 convolution.
        dropout (float): ``Dropout2d`` probability.
    """

    def __init__(self, in_channels: int, out_channels: int, dilation: int,
                 dropout: float) -> None:
        super().__init__()
        quarter, half = out_channels // 4, out_channels // 2
        self.bn_branch2a = nn.BatchNorm2d(in_channels)
        self.conv_branch2a = nn.Conv2d(in_channels, quarter, 1, bias=False)
        self.bn_branch2b1 = nn.BatchNorm2d(quarter)
        self.conv_branch2b1 = nn.Conv2d(quarter, half, 3, padding=dilation,
                                        dilation=dilation, bias=False)
        self.bn_branch2b2 = nn.BatchNorm2d(half)
        self.conv_branch2b2 = nn.Conv2d(half, out_channels, 1, bias=False)
        self.conv_branch1 = nn.Conv2d(in_channels, out_channels, 1,
                                      bias=False)
        self.dropout = nn.Dropout2d(dropout)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """The block's (N, out, h, w) output and its input after BN +
        ReLU."""
        pre = F.relu(self.bn_branch2a(x))
        branch = self.conv_branch2a(pre)
        branch = self.dropout(F.relu(self.bn_branch2b1(branch)))
        branch = self.conv_branch2b1(branch)
        branch = self.dropout(F.relu(self.bn_branch2b2(branch)))
        return self.conv_branch1(pre) + self.conv_branch2b2(branch), pre


# PSA's blocks: name, arguments; b5's first convolution is not dilated
BLOCKS = (
    ('b2', (64, 128, 128, 2)), ('b2_1', (128, 128, 128)),
    ('b2_2', (128, 128, 128)),
    ('b3', (128, 256, 256, 2)), ('b3_1', (256, 256, 256)),
    ('b3_2', (256, 256, 256)),
    ('b4', (256, 512, 512, 2)),
    *((f'b4_{i}', (512, 512, 512)) for i in range(1, 6)),
    ('b5', (512, 512, 1024, 1, 2, 1)), ('b5_1', (1024, 512, 1024, 1, 2)),
    ('b5_2', (1024, 512, 1024, 1, 2)))


@MODELS.register_module()
class ResNet38d(BaseModule):
    """ResNet-38d at output stride 8, with every BN frozen.

    As the paper and PSA train it: BN in eval mode with its affine weights
    fixed, and the stem and first stage (``frozen``) not trained.

    Args:
        dropout (tuple[float, float]): ``Dropout2d`` probability in b6 and
            b7 (PSA: 0.3 and 0.5; the authors' code: 0.2 and 0.2).
        frozen (sequence[str]): Layers that are not trained.
        out_indices (sequence[int]): Maps returned, of PSA's three at
            stride 8: 0, the input of b5 after BN + ReLU (512 channels,
            PSA's ``conv4``); 1, that of b6 (1,024, ``conv5``); 2, the last
            block's output after BN + ReLU (4,096, ``conv6``), which the
            CAM head reads. AffinityNet reads all three.
        init_cfg (dict, optional): E.g. ``dict(type='Pretrained',
            checkpoint=...)`` with the converted ImageNet weights.
    """

    def __init__(self,
                 dropout: Tuple[float, float] = (0.3, 0.5),
                 frozen: Sequence[str] = ('conv1a', 'b2', 'b2_1', 'b2_2'),
                 out_indices: Sequence[int] = (2, ),
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg)
        self.conv1a = nn.Conv2d(3, 64, 3, padding=1, bias=False)
        for name, args in BLOCKS:
            self.add_module(name, PreActBlock(*args))
        self.b6 = PreActBottleneck(1024, 2048, 4, dropout[0])
        self.b7 = PreActBottleneck(2048, 4096, 4, dropout[1])
        self.bn7 = nn.BatchNorm2d(4096)
        self.out_indices = tuple(out_indices)
        for name in frozen:
            getattr(self, name).requires_grad_(False)
        for module in self.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.requires_grad_(False)

    def train(self, mode: bool = True) -> 'ResNet38d':
        """Set the mode; every BN stays in eval mode."""
        super().train(mode)
        for module in self.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eval()
        return self

    def forward(self, images: Tensor) -> Tuple[Tensor, ...]:
        """The ``out_indices`` maps of (N, 3, H, W) images, each (N, C_i,
        H / 8, W / 8) (rounded up)."""
        x = self.conv1a(images)
        maps = []
        for name, _ in BLOCKS:
            x, pre = getattr(self, name)(x)
            if name == 'b5':
                maps.append(pre)
        x, pre = self.b6(x)
        maps.append(pre)
        x, _ = self.b7(x)
        maps.append(F.relu(self.bn7(x)))
        return tuple(maps[i] for i in self.out_indices)
