"""Unit pixel features of a bilinearly upsampled map, never materialised.

RCM can compare at the input crop (the authors' form): MainNet's and
SupportNet's (N, D, h, w) features bilinearly upsampled to (H, W), each
pixel L2-normalised. At stride 8 that map has 64 times the pixels of the
feature map (N x 256 x 384 x 384 floats, 1.2 GB per copy at VOC's batch), and
normalising, contrasting and back-propagating it dominated the training step
(2.6 s against 0.7 s on the synthetic CPU configs). Bilinear upsampling is
linear, so both things RCM needs are computed at the feature map's size:

- a dot product with a vector: ``<up(f)(X), v> = up(<f, v>)(X)``;
- the norm: ``|up(f)(X)|^2 = sum_{j,j'} a_j a_j' <f_j, f_j'>`` over the
  four source pixels j of X with weights a_j, i.e. the Gram products of
  neighbouring feature pixels (9 offsets), gathered per output pixel.

The sampling is PyTorch's ``interpolate(mode='bilinear',
align_corners=False)`` with a target size, as ``mmseg.models.utils.resize``;
tests compare with the materialised map.
"""
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .cam_utils import resized

EPS = 1e-12  # F.normalize's


def bilinear_taps(size_in: int, size_out: int,
                  device: torch.device) -> Tuple[Tensor, Tensor]:
    """Source indices and weights of 1-D linear interpolation.

    Returns:
        tuple: (2, size_out) long indices (the lower and upper source
        pixel) and (2, size_out) float weights, as PyTorch computes them
        for ``align_corners=False``.
    """
    src = ((torch.arange(size_out, device=device) + 0.5) * size_in /
           size_out - 0.5).clamp(min=0)
    low = src.floor().long().clamp(max=size_in - 1)
    high = (low + 1).clamp(max=size_in - 1)
    frac = src - low
    return torch.stack([low, high]), torch.stack([1 - frac, frac])


def interpolation_matrix(taps: Tuple[Tensor, Tensor], size_in: int,
                         dtype: torch.dtype) -> Tensor:
    """(size_out, size_in) matrix of 1-D linear interpolation with
    :func:`bilinear_taps`' ``taps``."""
    index, weight = taps
    size_out = index.shape[1]
    device = index.device
    matrix = torch.zeros(size_out, size_in, device=device, dtype=dtype)
    rows = torch.arange(size_out, device=device)
    for i, w in zip(index, weight):
        matrix.index_put_((rows, i), w.to(dtype), accumulate=True)
    return matrix


def neighbour_gram(feature: Tensor) -> Tensor:
    """``<f(y, x), f(y + dy, x + dx)>`` for dy, dx in {-1, 0, 1}.

    Args:
        feature (Tensor): (N, D, h, w).

    Returns:
        Tensor: (N, 3, 3, h, w), 0 where the neighbour is off the map.
    """
    h, w = feature.shape[-2:]
    padded = F.pad(feature, (1, 1, 1, 1))
    return torch.stack([
        torch.stack([(feature * padded[:, :, 1 + dy:1 + dy + h,
                                       1 + dx:1 + dx + w]).sum(1)
                     for dx in (-1, 0, 1)], dim=1)
        for dy in (-1, 0, 1)
    ], dim=1)


class UpsampledFeatures:
    """(N, D, h, w) features bilinearly upsampled to ``size``, each pixel
    of the upsampled map L2-normalised (``F.normalize``), as seen through
    :meth:`cosine` and :meth:`region_sums`.

    Args:
        feature (Tensor): (N, D, h, w) features (gradients flow through
            :meth:`cosine`).
        size (Sequence[int]): (H, W) of the upsampled map.
    """

    def __init__(self, feature: Tensor, size: Sequence[int]) -> None:
        self.feature = feature
        self.size = tuple(size)
        h, w = feature.shape[-2:]
        self.upsampled = (h, w) != self.size
        if not self.upsampled:  # the features themselves
            self.norm = feature.norm(dim=1).clamp(min=EPS)
            return
        rows = bilinear_taps(h, self.size[0], feature.device)
        cols = bilinear_taps(w, self.size[1], feature.device)
        self.rows = interpolation_matrix(rows, h, feature.dtype)
        self.cols = interpolation_matrix(cols, w, feature.dtype)
        self.norm = self._norms(rows, cols)

    def _norms(self, rows: Tuple[Tensor, Tensor],
               cols: Tuple[Tensor, Tensor]) -> Tensor:
        """(N, H, W) norms of the upsampled pixels, at least ``EPS``."""
        (row_index, row_weight), (col_index, col_weight) = rows, cols
        gram = neighbour_gram(self.feature)
        squared = 0
        for a in (0, 1):
            for c in (0, 1):
                dy = (row_index[c] - row_index[a] + 1)[:, None]
                wy = (row_weight[a] * row_weight[c])[:, None]
                for b in (0, 1):
                    for d in (0, 1):
                        dx = (col_index[d] - col_index[b] + 1)[None]
                        wx = (col_weight[b] * col_weight[d])[None]
                        squared = squared + wy * wx * gram[
                            :, dy, dx, row_index[a][:, None],
                            col_index[b][None]]
        return squared.clamp(min=EPS**2).sqrt()

    def cosine(self, vectors: Tensor) -> Tensor:
        """Dot products of the unit upsampled pixels with vectors.

        Args:
            vectors (Tensor): (N, K, D), one set per image.

        Returns:
            Tensor: (N, K, H, W); the cosines if the vectors are unit.
        """
        dots = torch.einsum('ndhw,nkd->nkhw', self.feature, vectors)
        return resized(dots, self.size) / self.norm[:, None]

    def region_sums(self, weights: Tensor) -> Tensor:
        """Weighted sums of the unit upsampled pixels.

        Args:
            weights (Tensor): (N, K, H, W), e.g. one-hot regions.

        Returns:
            Tensor: (N, K, D) ``sum_X weights(X) up(f)(X) / |up(f)(X)|``.
        """
        back = weights / self.norm[:, None]
        if self.upsampled:  # the transpose of the upsampling
            back = torch.einsum('Yy,nkYX,Xx->nkyx', self.rows, back,
                                self.cols)
        return torch.einsum('nkyx,ndyx->nkd', back, self.feature)
