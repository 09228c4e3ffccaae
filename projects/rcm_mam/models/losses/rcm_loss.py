"""RCM: regional contrast of MainNet pixels against SupportNet prototypes."""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from ...utils.dist import gather_batch, global_mean
from ..cam_utils import check_cam_aggregation, max_normalise, sum_passes
from ..upsampled_features import UpsampledFeatures
from .support_loss import SupportLoss

IGNORE = 255
EXCLUDED = -1e4  # logit of an unavailable prototype (finite: NaN-free grads)


def pixel_pseudo_labels(scores: Tensor, bg_threshold: float,
                        fg_threshold: float) -> Tensor:
    """Pixel labels from max-normalised class scores.

    Args:
        scores (Tensor): (N, C, h, w) foreground scores in [0, 1].
        bg_threshold (float): Below it a pixel is background (0).
        fg_threshold (float): At or above it a pixel takes its top class
            (1..C); pixels in between are ignored (255).

    Returns:
        Tensor: (N, h, w) long labels in {0, ..., C, 255}.
    """
    top, cls = scores.max(dim=1)
    labels = cls + 1
    labels[top < fg_threshold] = IGNORE
    labels[top < bg_threshold] = 0
    return labels


def support_scores(support_cams: Tensor, labels: Tensor,
                   order: str) -> Tensor:
    """RCM's class scores: SupportNet's CAMs summed over scales (ReLU
    before or after the sum by ``order``, as inference does), restricted to
    the labelled classes and max-normalised.

    Args:
        support_cams (Tensor): (S, N, C, h, w) SupportNet CAMs (raw).
        labels (Tensor): (N, C) multi-hot image labels.
        order (str): ``cam_utils.CAM_AGGREGATIONS``.

    Returns:
        Tensor: (N, C, h, w) scores in [0, 1].
    """
    return max_normalise(sum_passes(support_cams, order), labels)


def valid_one_hot(labels: Tensor, num_classes: int) -> Tensor:
    """(N, h, w, K) one-hot of (N, h, w) labels, all 0 where ignored (255).
    """
    valid = labels != IGNORE
    one_hot = F.one_hot(labels.masked_fill(~valid, 0).long(), num_classes)
    return one_hot * valid[..., None]


def image_prototypes(features: UpsampledFeatures, labels: Tensor,
                     num_classes: int) -> Tensor:
    """Each image's unit-norm prototype of each class (0 where absent).

    Args:
        features (UpsampledFeatures): The unit pixel features at the
            labels' (H, W).
        labels (Tensor): (N, H, W) labels in {0, ..., K-1, 255}.
        num_classes (int): K, background included.

    Returns:
        Tensor: (N, K, D) normalised masked sums of the features.
    """
    one_hot = valid_one_hot(labels, num_classes).permute(0, 3, 1, 2)
    sums = features.region_sums(one_hot.to(features.feature))
    return F.normalize(sums, dim=2)


def leave_one_out(protos: Tensor, present: Tensor, offset: int,
                  batch: int, extra_sum: Union[Tensor, float],
                  extra_count: Union[Tensor, float]) -> tuple:
    """Per image, the mean prototype of the *other* images (plus extras).

    Args:
        protos (Tensor): (B, K, D) prototypes of the whole (gathered) batch.
        present (Tensor): (B, K) float, 1 where a class has a region.
        offset (int): Index in ``protos`` of this rank's first image.
        batch (int): Number N of this rank's images.
        extra_sum (Tensor or float): (K, D) sum of memory prototypes, or 0.
        extra_count (Tensor or float): (K,) number of memory prototypes, or
            0.

    Returns:
        tuple: (N, K, D) unit-norm prototypes and (N, K) bool availability
        (some other image or the memory has the class).
    """
    own = slice(offset, offset + batch)
    sums = protos.sum(0) - protos[own] + extra_sum
    counts = present.sum(0) - present[own] + extra_count
    return F.normalize(sums, dim=2), counts > 0


@MODELS.register_module()
class RCMLoss(SupportLoss):
    """Regional Contrastive Module loss (docs/method.md, "RCM").

    SupportNet's multi-scale CAMs give pixel pseudo labels; SupportNet's
    features averaged over each label region give per-image class
    prototypes; every MainNet pixel feature (both nets' features bilinearly
    upsampled to the CAMs' size where it is larger, as the authors' code
    does at the input crop: ``UpsampledFeatures``) is classified by cosine
    similarity (times ``temperature``) to the leave-one-out prototypes of
    the batch (gathered over all ranks), with cross-entropy against its
    pseudo label, averaged over the valid pixels of all ranks: 8 GPUs at
    batch 1 train as 1 at batch 8 (``utils.dist.global_mean``). The
    memory, if any, holds the last ``memory_size`` prototypes of each class
    from earlier batches (saved in checkpoints).

    Args:
        num_classes (int): Foreground classes C. Defaults to 20.
        channels (int): Feature dimension D. Defaults to 256.
        fg_threshold (float): Score at or above which a pixel takes its top
            class. Defaults to 0.3.
        bg_threshold (float, optional): Score below which a pixel is
            background; pixels in between are ignored. Defaults to None
            (= ``fg_threshold``: no ignore band, as the paper).
        temperature (float): Scale T of the cosine logits (logits = T cos).
            Defaults to 2.
        prototype_cams (str): The CAMs whose regions the prototypes average
            over: 'multi_scale' (the pixel labels' own regions) or
            'scale_one' (SupportNet's scale-1 CAM alone, thresholded the
            same way, as the authors' code). Defaults to 'multi_scale'.
        unavailable (str): A class no other image (nor the memory) has a
            prototype for: 'ignore' (its logit is excluded and its pixels
            ignored) or 'zero' (a zero prototype, logit 0, every pixel
            counted, as the authors' code). Defaults to 'ignore'.
        memory_size (int): Prototypes remembered per class. Defaults to 0.
        memory_mode (str): 'extend': the memory holds image prototypes,
            which join every image's leave-one-out mean; 'replace' (the
            authors' optional memory, 5 deep): it holds the batch's
            leave-one-out prototypes (norm > 0.999), and every image uses
            the normalised mean of the memory, this batch's pushes
            included, instead of its own leave-one-out prototype.
            Defaults to 'extend'.
        skip_missed (str, optional): 'unrecognised': give no pseudo labels
            (so no prototypes and no loss) to an image in which SupportNet
            misses one of its labelled classes (``SupportLoss.missed``):
            the class's pixels would be labelled background, and the
            contrast would train the class away. Defaults to None
            (the paper).
        cam_aggregation (str): The order of ReLU and the sum over scales in
            SupportNet's scores (``cam_utils.CAM_AGGREGATIONS``);
            ``MainSupportCAMNet`` sets it to its own ``cam_aggregation``,
            which inference uses. Defaults to 'sum_then_relu'.
        loss_weight (float): Weight of the loss, which
            ``MainSupportCAMNet`` applies. Defaults to 1.
        loss_name (str): Key in the loss dict. Defaults to 'loss_rcm'.
    """
    choices = dict(prototype_cams=('multi_scale', 'scale_one'),
                   unavailable=('ignore', 'zero'),
                   memory_mode=('extend', 'replace'))

    def __init__(self,
                 num_classes: int = 20,
                 channels: int = 256,
                 fg_threshold: float = 0.3,
                 bg_threshold: float = None,
                 temperature: float = 2.0,
                 prototype_cams: str = 'multi_scale',
                 unavailable: str = 'ignore',
                 memory_size: int = 0,
                 memory_mode: str = 'extend',
                 skip_missed: Optional[str] = None,
                 cam_aggregation: str = 'sum_then_relu',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_rcm') -> None:
        super().__init__(skip_missed, loss_weight, loss_name)
        self.num_classes = num_classes + 1  # with the background
        self.fg_threshold = fg_threshold
        self.bg_threshold = fg_threshold if bg_threshold is None \
            else bg_threshold
        assert self.bg_threshold <= self.fg_threshold
        self.temperature = temperature
        self.prototype_cams = self.check_choice('prototype_cams',
                                                prototype_cams)
        self.unavailable = self.check_choice('unavailable', unavailable)
        self.memory_size = memory_size
        self.memory_mode = self.check_choice('memory_mode', memory_mode)
        check_cam_aggregation(cam_aggregation)
        self.cam_aggregation = cam_aggregation
        self.register_buffer(
            'memory', torch.zeros(self.num_classes, memory_size, channels))
        self.register_buffer('memory_count',
                             torch.zeros(self.num_classes, dtype=torch.long))

    def forward(self,
                main_feature: Tensor,
                support_feature: Tensor,
                support_cams: Tensor,
                labels: Tensor,
                ref_index: Optional[int] = None) -> Tensor:
        """The RCM loss.

        Args:
            main_feature (Tensor): (N, D, h, w) MainNet pixel features.
            support_feature (Tensor): (N, D, h, w) SupportNet pixel features
                at scale 1.
            support_cams (Tensor): (S, N, C, H, W) SupportNet CAMs at each
                scale, resized to the size (H, W) at which RCM compares
                (the features' own or larger).
            labels (Tensor): (N, C) multi-hot image labels.
            ref_index (int, optional): Which of the S scales is 1 (needed
                by ``prototype_cams='scale_one'``).

        Returns:
            Tensor: Scalar loss.
        """
        with torch.no_grad():
            pseudo = self._pixel_labels(support_cams, labels)
            regions = pseudo if self.prototype_cams == 'multi_scale' else \
                self._pixel_labels(support_cams[ref_index:ref_index + 1],
                                   labels)
            protos = image_prototypes(
                UpsampledFeatures(support_feature, pseudo.shape[-2:]),
                regions, self.num_classes)
            prototypes, available = self._prototypes(protos)
            target = pseudo
            if self.unavailable == 'ignore':
                index = pseudo.clamp(max=self.num_classes - 1).flatten(1)
                usable = available.gather(1, index).view_as(pseudo)
                target = pseudo.masked_fill(~usable, IGNORE)
        logits = self.temperature * UpsampledFeatures(
            main_feature, pseudo.shape[-2:]).cosine(prototypes)
        if self.unavailable == 'ignore':
            logits = logits.masked_fill(~available[:, :, None, None],
                                        EXCLUDED)
        total = F.cross_entropy(logits, target, ignore_index=IGNORE,
                                reduction='sum')
        return global_mean(total, (target != IGNORE).sum())

    def _pixel_labels(self, support_cams: Tensor, labels: Tensor) -> Tensor:
        """(N, H, W) pixel labels of (S, N, C, H, W) SupportNet CAMs, none
        (255) in an image where SupportNet misses a class by
        ``skip_missed``."""
        scores = support_scores(support_cams, labels, self.cam_aggregation)
        pseudo = pixel_pseudo_labels(scores, self.bg_threshold,
                                     self.fg_threshold)
        if self.skip_missed:
            pseudo[self.missed(support_cams, labels).any(1)] = IGNORE
        return pseudo

    def _prototypes(self, protos: Tensor) -> Tuple[Tensor, Tensor]:
        """Each image's prototypes from the image prototypes of the batch
        (all ranks) and the memory, which this updates when training.

        Args:
            protos (Tensor): (N, K, D) this rank's image prototypes.

        Returns:
            tuple: (N, K, D) unit-norm (or zero) prototypes and (N, K) bool
            availability.
        """
        present = (protos.norm(dim=2) > 0).to(protos)
        all_protos, offset = gather_batch(protos)
        all_present, _ = gather_batch(present)
        n = len(protos)
        if self.memory_mode == 'replace' and self.memory_size:
            if self.training:  # every image's leave-one-out prototype
                loo, _ = leave_one_out(all_protos, all_present, 0,
                                       len(all_protos), 0, 0)
                self._remember(loo, loo.norm(dim=2) > 0.999)
            shared = F.normalize(self.memory.sum(1), dim=1)
            return (shared.expand(n, -1, -1),
                    (self.memory_count > 0).expand(n, -1))
        memory_count = self.memory_count.clamp(max=self.memory_size)
        prototypes, available = leave_one_out(
            all_protos, all_present, offset, n, self.memory.sum(1),
            memory_count)
        if self.training and self.memory_size:
            self._remember(all_protos, all_present.bool())
        return prototypes, available

    def _remember(self, protos: Tensor, present: Tensor) -> None:
        """Push the batch's prototypes into each class's ring buffer.

        Args:
            protos (Tensor): (B, K, D) prototypes.
            present (Tensor): (B, K) bool.
        """
        for k in range(self.num_classes):
            for proto in protos[present[:, k], k][-self.memory_size:]:
                self.memory[k, self.memory_count[k] % self.memory_size] = \
                    proto
                self.memory_count[k] += 1
