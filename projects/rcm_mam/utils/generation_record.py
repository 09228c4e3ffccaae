"""What made a folder of pseudo masks, and whether its generation finished.

``PseudoLabelHook`` writes ``generation.json`` into its mask folder before
the first mask: the settings that decide every mask (a digest of the
model's weights, not a checkpoint path, which a retrained ``iter_N.pth``
keeps; a digest of the image labels, the split, data root, threshold, test
scales, flip, size bound, image orientation and CRF settings) and
``complete: false``, set to true once every mask is written. A re-run with
other settings stops instead of resuming, and stage 2 refuses a folder
whose generation did not finish or covers another split.
"""
import hashlib
import json
import os.path as osp
from typing import Optional

import torch
import torch.nn as nn

from .errors import InputError
from .file_io import dump_json

RECORD = 'generation.json'
FIX = ('Fix: remove the folder to make them again, or write them elsewhere '
       "(PseudoLabelHook's out_dir, or --work-dir).")


def weights_digest(model: nn.Module) -> str:
    """SHA-256 of a model's parameters and buffers (names and bytes)."""
    digest = hashlib.sha256()
    for name, value in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(value.detach().cpu().contiguous().reshape(-1).view(
            dtype=torch.uint8).numpy().tobytes())
    return digest.hexdigest()


# model config keys that do not change a pseudo mask: training only, the
# initial weights (their result is in the weights digest) and the threshold
# (recorded as the hook uses it)
TRAINING_ONLY = ('train_cfg', 'loss_cls', 'rcm_loss', 'mam_loss',
                 'support_momentum', 'init_cfg', 'bg_threshold')


def model_config_digest(model_cfg: dict) -> str:
    """SHA-256 of the resolved ``model`` config less :data:`TRAINING_ONLY`
    (at any depth)."""
    def inference_part(value):
        if isinstance(value, dict):
            return {k: inference_part(v) for k, v in value.items()
                    if k not in TRAINING_ONLY}
        if isinstance(value, (list, tuple)):
            return [inference_part(v) for v in value]
        return value
    text = json.dumps(inference_part(dict(model_cfg)), sort_keys=True,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def read_record(folder: str) -> Optional[dict]:
    """The folder's record, or None if it has none."""
    path = osp.join(folder, RECORD)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def claim_folder(folder: str, settings: dict, has_masks: bool) -> None:
    """Record ``settings`` for a generation in ``folder``, or check that
    the masks already there were made with the same ones (a folder without
    masks takes the new settings). Call it on one rank only.

    Raises:
        InputError: If the folder holds masks of other (or unrecorded)
            settings.
    """
    settings = json.loads(json.dumps(settings))  # tuples as JSON lists
    record = read_record(folder)
    if has_masks and record is None:
        raise InputError(f'{folder}: holds pseudo masks with no record of '
                         f'what made them ({RECORD}). {FIX}')
    if has_masks:
        changed = sorted(k for k in {*settings, *record['settings']}
                         if settings.get(k) != record['settings'].get(k))
        if changed:
            raise InputError(f'{folder}: its pseudo masks were made with '
                             f'other settings ({", ".join(changed)} differ; '
                             f'see {RECORD}). {FIX}')
        return
    dump_json(dict(settings=settings, complete=False),
              osp.join(folder, RECORD))


def mark_complete(folder: str) -> None:
    """Mark the generation in ``folder`` finished."""
    record = read_record(folder)
    if not record['complete']:
        dump_json(dict(record, complete=True), osp.join(folder, RECORD))


def file_sha256(path: Optional[str]) -> Optional[str]:
    """SHA-256 of a file's content; None for no path."""
    if not path:
        return None
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def check_complete(folder: str, data_root: str, split: str) -> None:
    """Stage 2 may only train on a folder whose generation finished for the
    same data: data root and split file (both resolved: a symlinked path
    is the same data), and the label file unchanged since.
    """
    record = read_record(folder)
    if record is None or not record['complete']:
        why = 'has no record of its generation' if record is None else \
            'is from a generation that did not finish'
        raise InputError(
            f'{folder}: the pseudo-mask folder {why} ({RECORD}), so masks '
            'may be missing. Fix: run (or re-run, which resumes) '
            'tools/make_pseudo_labels.py CONFIG CHECKPOINT for it.')
    made = record['settings']
    label_file = made.get('label_file')  # older records have none
    now = file_sha256(label_file) if label_file and osp.isfile(
        label_file) else None
    differ = [f'{name}: {theirs} there, {ours} here'
              for name, theirs, ours in (
                  ('split file', osp.realpath(made['ann_file']),
                   osp.realpath(split)),
                  ('data root', osp.realpath(made['data_root']),
                   osp.realpath(data_root)),
                  (f'content of {label_file}',
                   made.get('label_file_sha256'), now)) if theirs != ours]
    if differ:
        raise InputError(
            f'{folder}: its pseudo masks were made for other data ('
            + '; '.join(differ) + '). Fix: make them again for this data '
            "set and split (PseudoLabelHook's ann_file), or train on the "
            'data they cover.')
