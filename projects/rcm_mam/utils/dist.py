"""Gathering a batch across ranks (a no-op in a single process)."""
from typing import Tuple

import torch
from mmengine.dist import all_gather, get_rank, get_world_size
from torch import Tensor


def gather_batch(x: Tensor) -> Tuple[Tensor, int]:
    """Concatenate ``x`` of every rank along dim 0, without gradient.

    Every rank must pass the same shape (true for the equal per-rank batches
    of MMEngine's samplers).

    Args:
        x (Tensor): (N, ...) this rank's part.

    Returns:
        tuple: (world_size * N, ...) tensor, and the offset of this rank's
        part in it.
    """
    if get_world_size() == 1:
        return x, 0
    return torch.cat(all_gather(x.detach().contiguous())), get_rank() * len(x)
