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


def attention_weights(main_cams: Tensor, support_cams: Tensor,
                      attention: str, ref_index: int) -> Tensor:
    """The weights of SupportNet's scales in MAM's targets.

    Args:
        main_cams (Tensor): (S_m, n, C, h, w) MainNet CAMs.
        support_cams (Tensor): (S, n, C, h, w) SupportNet CAMs.
        attention (str): 'scale_one': :func:`cosine_weights` to MainNet's
            scale-1 CAM, one target for all MainNet scales; 'per_scale':
            to each MainNet scale's CAM, a target per MainNet scale (the
            authors' code); 'none': all 1 (the plain mean of the scales).
        ref_index (int): Which MainNet scale is 1.

    Returns:
        Tensor: (T, S, n, C) weights, T = S_m for 'per_scale', else 1.
    """
    if attention == 'none':
        return support_cams.new_ones(1, *support_cams.shape[:3])
    if attention == 'scale_one':
        return cosine_weights(main_cams[ref_index], support_cams)[None]
    return torch.stack([cosine_weights(m, support_cams) for m in main_cams])


@MODELS.register_module()
class MAMLoss(SupportLoss):
    """Multi-scale Attention Module loss (docs/method.md, "MAM").

    The target is the weighted mean of SupportNet's CAMs over its scales,
    ``sum_k w_k CAM_k / S`` with ``w_k = 2 - cos`` (``attention``),
    detached; the loss is the L1 distance of each MainNet-scale CAM to it,
    summed over MainNet scales and averaged over pixels and over the
    images' classes (``reduction``) of all ranks (see
    ``utils.dist.global_mean``). No learnable parameters.

    Args:
        relu (bool): ReLU all CAMs first. Defaults to False (raw CAMs, as
            the paper).
        label_mask (bool): Zero the classes absent from the image label
            (after the ReLU). Defaults to False.
        normalise (bool): Max-normalise every CAM per class (which also
            zeroes absent classes). Defaults to False.
        attention (str): How SupportNet's scales are weighted
            (:func:`attention_weights`): 'scale_one', 'per_scale' (the
            authors' ``model_final``) or 'none' (their ``model_MM_RCM``).
            Defaults to 'scale_one'.
        reduction (str): 'labelled': the mean over the labelled classes of
            each image; 'all': over all C classes (the authors' code).
            Defaults to 'labelled'.
        skip_missed (str, optional): 'unrecognised': leave out the labelled
            classes that SupportNet misses in the image
            (``SupportLoss.missed``): their target is 0 or off the object,
            which would train the class away. Defaults to None (the paper).
        loss_weight (float): Weight of the loss, which
            ``MainSupportCAMNet`` applies. Defaults to 1.
        loss_name (str): Key in the loss dict. Defaults to 'loss_mam'.
    """
    choices = dict(attention=('scale_one', 'per_scale', 'none'),
                   reduction=('labelled', 'all'))

    def __init__(self,
                 relu: bool = False,
                 label_mask: bool = False,
                 normalise: bool = False,
                 attention: str = 'scale_one',
                 reduction: str = 'labelled',
                 skip_missed: Optional[str] = None,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_mam') -> None:
        super().__init__(skip_missed, loss_weight, loss_name)
        self.relu = relu
        self.label_mask = label_mask
        self.normalise = normalise
        self.attention = self.check_choice('attention', attention)
        self.reduction = self.check_choice('reduction', reduction)

    def _prepare(self, cams: Tensor, labels: Tensor) -> Tensor:
        """Apply the configured ReLU / masking / normalisation to
        (S, n, C, h, w)."""
        if self.relu:
            cams = F.relu(cams)
        if self.label_mask:
            cams = cams * labels[:, :, None, None]
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
                'scale_one' weights compare with.

        Returns:
            Tensor: Scalar loss.
        """
        main_cams = self._prepare(main_cams, labels)
        with torch.no_grad():
            mask = labels if self.reduction == 'labelled' else \
                torch.ones_like(labels)  # the classes averaged over
            if self.skip_missed:
                mask = mask * ~self.missed(support_cams, labels)
            support_cams = self._prepare(support_cams, labels)
            weights = attention_weights(main_cams, support_cams,
                                        self.attention, ref_index)
            target = torch.einsum('tsnc,snchw->tnchw', weights,
                                  support_cams) / len(support_cams)
        per_class = (main_cams - target).abs().sum(0).mean(dim=(2, 3))
        return global_mean((per_class * mask).sum(), mask.sum())
