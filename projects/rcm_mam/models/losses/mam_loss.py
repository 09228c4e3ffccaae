"""MAM: scale consistency of MainNet CAMs with a SupportNet target."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from ...utils.dist import global_mean
from ..cam_utils import max_normalise
from .support_loss import SupportLoss


def cosine_weights(ref_cam: Tensor, support_cams: Tensor) -> Tensor:
    """w_k = 2 - cos(ref CAM, SupportNet CAM at scale k), per image and class.

    Args:
        ref_cam (Tensor): (n, C, h, w) MainNet CAM.
        support_cams (Tensor): (S, n, C, h, w) SupportNet CAMs.

    Returns:
        Tensor: (S, n, C) weights in [1, 3].
    """
    cos = F.cosine_similarity(ref_cam.flatten(2)[None],
                              support_cams.flatten(3), dim=3)
    return 2 - cos


@MODELS.register_module()
class MAMLoss(SupportLoss):
    """Multi-scale Attention Module loss (docs/method.md, "MAM").

    The target is the cosine-weighted mean of SupportNet's CAMs over its
    scales, ``sum_k w_k CAM_k / S``, detached; the loss is the L1 distance of
    each MainNet-scale CAM to it, summed over MainNet scales and averaged
    over pixels and over the images' labelled classes of all ranks (see
    ``utils.dist.global_mean``). No learnable parameters.

    Args:
        relu (bool): ReLU all CAMs first. Defaults to False (raw CAMs, as
            the paper).
        normalise (bool): Max-normalise every CAM per class (which also
            zeroes absent classes). Defaults to False.
        skip_missed (str, optional): 'unrecognised': leave out the labelled
            classes that SupportNet misses in the image
            (``SupportLoss.missed``): their target is 0 or off the object,
            which would train the class away. Defaults to None (the paper).
        loss_weight (float): Weight of the loss, which
            ``MainSupportCAMNet`` applies. Defaults to 1.
        loss_name (str): Key in the loss dict. Defaults to 'loss_mam'.
    """

    def __init__(self,
                 relu: bool = False,
                 normalise: bool = False,
                 skip_missed: Optional[str] = None,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_mam') -> None:
        super().__init__(skip_missed, loss_weight, loss_name)
        self.relu = relu
        self.normalise = normalise

    def _prepare(self, cams: Tensor, labels: Tensor) -> Tensor:
        """Apply the configured ReLU / normalisation to (S, n, C, h, w)."""
        if self.relu:
            cams = F.relu(cams)
        if self.normalise:
            cams = torch.stack([max_normalise(c, labels) for c in cams])
        return cams

    def forward(self, main_cams: Tensor, support_cams: Tensor,
                labels: Tensor, ref_index: int) -> Tensor:
        """The MAM loss.

        Args:
            main_cams (Tensor): (S_m, n, C, h, w) MainNet CAMs at its scales.
            support_cams (Tensor): (S, n, C, h, w) SupportNet CAMs.
            labels (Tensor): (n, C) multi-hot image labels.
            ref_index (int): Which MainNet scale (the scale-1 one) the
                cosine weights compare with.

        Returns:
            Tensor: Scalar loss.
        """
        main_cams = self._prepare(main_cams, labels)
        with torch.no_grad():
            mask = labels * ~self.missed(support_cams, labels) \
                if self.skip_missed else labels  # the classes averaged over
            support_cams = self._prepare(support_cams, labels)
            weights = cosine_weights(main_cams[ref_index], support_cams)
            weighted = (weights[..., None, None] * support_cams).sum(0)
            target = weighted / len(weights)
        per_class = (main_cams - target).abs().sum(0).mean(dim=(2, 3))
        return global_mean((per_class * mask).sum(), mask.sum())
