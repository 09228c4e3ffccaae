"""Gathering a batch and averaging a loss across ranks (no-ops in a single
process)."""
from typing import Tuple

import torch
from mmengine.dist import all_gather, all_reduce, get_rank, get_world_size
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


def global_mean(total: Tensor, count: Tensor) -> Tensor:
    """A loss averaged over the terms of all ranks, for DDP.

    DDP averages the gradients of the ranks, so each rank returns
    ``world_size * total / (sum of all ranks' counts)``: the gradient DDP
    applies is then that of the mean over every term of the global batch,
    as in one process, however the terms (valid pixels, labelled classes)
    fall on the ranks; a rank with none returns 0 and still counts. Every
    rank must call it (it all-reduces).

    Args:
        total (Tensor): Scalar sum of this rank's terms.
        count (Tensor): Scalar number of this rank's terms.

    Returns:
        Tensor: Scalar; the mean itself in a single process (0 when no
        rank has a term).
    """
    count = count.detach().to(total.dtype)
    world_size = get_world_size()
    if world_size > 1:
        count = count.clone()
        all_reduce(count)  # sum over ranks
    return total * world_size / count.clamp(min=1)


def finite_on_all_ranks(loss: Tensor) -> bool:
    """Whether scalar ``loss`` is finite on every rank.

    All ranks must agree to zero a loss (or to stop): a rank that went on
    alone would wait for the others in its next collective.
    """
    bad = (~torch.isfinite(loss.detach())).float()
    if get_world_size() > 1:
        all_reduce(bad)
    return bool(bad == 0)
