"""IRN's inter-pixel affinity loss on labelled pixel pairs."""
import torch
import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor

EPS = 1e-5  # IRN's, in the logs and the denominators


def masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``values`` where ``mask`` is 1 (0 if it is empty)."""
    return (values * mask).sum() / (mask.sum() + EPS)


@MODELS.register_module()
class AffinityLoss(nn.Module):
    """Cross-entropy of pair affinities against pair labels (IRN,
    jiwoon-ahn/irn ``step/train_irn.py``).

    ``(pos + neg) / 2`` with ``pos = bg / 2 + fg / 2``: each of the three
    kinds of labelled pair is averaged on its own, so that the many
    background pairs do not outweigh the object pairs. Pairs are
    (N, P, H, W) maps (``models.pair_paths``).

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.
        loss_name (str): Key in the loss dict. Defaults to 'loss_affinity'.
    """

    def __init__(self, loss_weight: float = 1.0,
                 loss_name: str = 'loss_affinity') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.loss_name = loss_name

    def forward(self, affinity: Tensor, bg_pos: Tensor, fg_pos: Tensor,
                neg: Tensor) -> Tensor:
        """The weighted loss.

        Args:
            affinity (Tensor): (N, P, H, W) pair affinities in [0, 1].
            bg_pos, fg_pos, neg (Tensor): (N, P, H, W) float masks of the
                background-positive, foreground-positive and negative
                pairs (``pair_paths.pair_labels``).

        Returns:
            Tensor: Scalar loss.
        """
        pos_loss = -torch.log(affinity + EPS)
        neg_loss = -torch.log(1 + EPS - affinity)
        pos = (masked_mean(pos_loss, bg_pos) / 2 +
               masked_mean(pos_loss, fg_pos) / 2)
        return self.loss_weight * (pos + masked_mean(neg_loss, neg)) / 2
