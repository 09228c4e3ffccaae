"""Loading checkpoints: MMEngine's with torch >= 2.6, and only fitting ones.

torch 2.6 made ``torch.load`` weights-only by default, and MMEngine 0.10.7
calls it without ``weights_only``: its own training checkpoints (which
pickle the message hub's ``HistoryBuffer`` and numpy state) then fail to
load for ``load_from`` and ``--resume``. :func:`use_trusted_checkpoints`
replaces MMEngine's loader of local files through its extension point with
the same function passing ``weights_only=False`` (a missing or truncated
file is an ``InputError``). The tools call it; importing the package does
not, so other code keeps MMEngine's loader. mmseg's ``init_model`` and
``MMSegInferencer`` load the weights-only files of
``tools/publish_checkpoint.py`` with MMEngine's own loader, or a training
checkpoint after ``use_trusted_checkpoints()``. As with any pickle, load
only checkpoints you trust. MMEngine loads non-strictly: the tools check
that a checkpoint fits the model first.
"""
import os.path as osp
import pickle
import zipfile
from typing import Optional

import torch
from mmengine.model import is_model_wrapper
from mmengine.runner import CheckpointLoader
from torch import nn

from .errors import InputError


def is_intact(path: str) -> bool:
    """Whether a checkpoint file is complete: torch's zip archive ends with
    its central directory, which a copy cut short (a full disk, a killed
    copy or save) lacks."""
    return zipfile.is_zipfile(path)


def load_from_local(filename: str, map_location=None) -> dict:
    """MMEngine's ``load_from_local`` with ``weights_only=False``; a
    missing, truncated or corrupt file is an ``InputError`` naming it."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise InputError(f'{filename}: checkpoint not found. Fix: give the '
                         'path of a .pth file written by tools/train.py.')
    try:
        return torch.load(filename, map_location=map_location,
                          weights_only=False)
    except (RuntimeError, EOFError, pickle.UnpicklingError,
            zipfile.BadZipFile) as e:
        why = 'truncated' if not is_intact(filename) else 'corrupt'
        raise InputError(
            f'{filename}: {why} checkpoint ({str(e).splitlines()[0]}), as a '
            'full disk or a killed copy leaves it. Fix: copy it again, or '
            'use an earlier checkpoint of the run.') from None


def use_trusted_checkpoints() -> None:
    """Load local checkpoints with :func:`load_from_local` in this process
    (MMEngine's training checkpoints on torch >= 2.6)."""
    CheckpointLoader.register_scheme(prefixes='', force=True)(
        load_from_local)


def read_weights(path: Optional[str]) -> Optional[dict]:
    """The weights (state dict) of a local checkpoint; None for none or a
    URL (left to MMEngine).

    Raises:
        InputError: If the file does not exist.
    """
    if not path or '://' in path:
        return None
    checkpoint = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    return checkpoint.get('state_dict', checkpoint)


def check_weights_fit(model: nn.Module, weights: Optional[dict],
                      path: str) -> None:
    """Refuse weights that leave part of the model the checkpoint is for
    at random: any MainNet weight (parameter or buffer) of a CAM model
    missing or of another shape, or, for other models, more than half of
    the parameters.

    MMEngine loads non-strictly and only warns about missing weights, so a
    checkpoint of another model (or SupportNet's weights alone) would
    silently give random predictions.

    Args:
        model (nn.Module): The model (or its wrapper) to load them into.
        weights (dict, optional): :func:`read_weights` of ``path``; None:
            nothing to check.
        path (str): The checkpoint, for the message.
    """
    if weights is None:
        return
    model = model.module if is_model_wrapper(model) else model
    if hasattr(model, 'main_net'):  # inference reads MainNet alone
        needed = {f'main_net.{k}': v
                  for k, v in model.main_net.state_dict().items()}
        enough = len(needed)
    else:
        needed = dict(model.named_parameters())
        enough = len(needed) / 2
    fitting = [k for k, v in needed.items()
               if k in weights and weights[k].shape == v.shape]
    if len(fitting) < enough:
        missing = next(k for k in needed if k not in fitting)
        raise InputError(
            f'{path}: checkpoint does not fit the model of the config: only '
            f'{len(fitting)} of the {len(needed)} weights it needs are in '
            f'it with the right shape (e.g. not {missing}). Fix: use a '
            'checkpoint trained with this config.')
