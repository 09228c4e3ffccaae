"""Loading MMEngine checkpoints with torch >= 2.6.

torch 2.6 made ``torch.load`` weights-only by default, and MMEngine 0.10.7
calls it without ``weights_only``: its own checkpoints (which pickle the
message hub's ``HistoryBuffer`` and numpy state) then fail to load for
``load_from`` and ``--resume``. This replaces MMEngine's loader of local
files through its extension point with the same function passing
``weights_only=False``. As with any pickle, load only checkpoints you trust.
"""
import os.path as osp

import torch
from mmengine.runner import CheckpointLoader


@CheckpointLoader.register_scheme(prefixes='', force=True)
def load_from_local(filename: str, map_location=None) -> dict:
    """MMEngine's ``load_from_local`` with ``weights_only=False``."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return torch.load(filename, map_location=map_location, weights_only=False)
