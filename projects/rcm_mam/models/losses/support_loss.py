"""What RCM and MAM share: a weight, a log name and the skip_missed guard."""
from typing import Dict, Optional, Tuple

import torch.nn as nn
from torch import Tensor

from ...utils.errors import InputError


class SupportLoss(nn.Module):
    """Base of the losses that train MainNet towards SupportNet's CAMs.

    ``forward`` returns the unweighted loss; ``MainSupportCAMNet`` applies
    ``loss_weight`` and logs the result as ``loss_name``.

    Args:
        skip_missed (str, optional): 'unrecognised': leave out what
            SupportNet misses (:meth:`missed`), whose targets would train
            the class away; None: keep everything, as the paper does.
        loss_weight (float): Weight of the loss.
        loss_name (str): Key in the loss dict.
    """
    missed_criteria: Tuple[str, ...] = ('unrecognised', )
    choices: Dict[str, Tuple[str, ...]] = {}  # the string fields' values

    def __init__(self, skip_missed: Optional[str], loss_weight: float,
                 loss_name: str) -> None:
        super().__init__()
        if skip_missed is not None and \
                skip_missed not in self.missed_criteria:
            raise InputError(
                f'{type(self).__name__} skip_missed={skip_missed!r} is not a '
                'criterion. Fix: use None or one of '
                f'{", ".join(map(repr, self.missed_criteria))}.')
        self.skip_missed = skip_missed
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def check_choice(self, field: str, value: str) -> str:
        """``value`` if it is one of ``choices[field]``, else a one-line
        error."""
        if value not in self.choices[field]:
            raise InputError(
                f'{type(self).__name__} {field}={value!r} is not a choice. '
                f'Fix: use one of {", ".join(map(repr, self.choices[field]))}.')
        return value

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def missed(self, support_cams: Tensor, labels: Tensor) -> Tensor:
        """The labelled classes SupportNet does not recognise in each image:
        their image logit (the mean score over scales and pixels) is not
        positive, so its classifier says the class is absent.

        Args:
            support_cams (Tensor): (S, N, C, h, w) SupportNet CAMs (raw).
            labels (Tensor): (N, C) multi-hot image labels.

        Returns:
            Tensor: (N, C) bool.
        """
        return labels.bool() & ~(support_cams.mean(dim=(0, 3, 4)) > 0)
