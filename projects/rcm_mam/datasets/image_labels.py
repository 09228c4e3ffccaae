"""Image-level labels: from a label file, or derived from masks and cached.

A label is a multi-hot ``np.uint8`` vector over the foreground classes
(``classes[1:]``; class 0 is the background). Two label-file formats are read:

- ``.json``: ``{"2007_000032": ["aeroplane", "person"], ...}`` (class names),
  the format this module also writes as its cache;
- ``.npy``: IRN's ``cls_labels.npy``, a pickled dict from the image name (or
  IRN's integer form of it, ``2007000032``) to a 20-d multi-hot vector.
"""
import json
import logging
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.logging import print_log

from ..utils.errors import InputError
from ..utils.file_io import dump_json, read_label_png
from ..utils.progress import Progress
from .checks import check_label_values

Labels = Dict[str, np.ndarray]


def names_to_multi_hot(names: Sequence[str], classes: Sequence[str],
                       where: str) -> np.ndarray:
    """Convert class names to a multi-hot vector over ``classes[1:]``."""
    label = np.zeros(len(classes) - 1, dtype=np.uint8)
    for name in names:
        if name not in classes[1:]:
            raise InputError(f'{where}: unknown class {name!r}; known: '
                             f'{list(classes[1:])}. Fix: correct the label '
                             'file or the metainfo classes in the config.')
        label[classes.index(name) - 1] = 1
    return label


def read_label_file(path: str, names: Sequence[str],
                    classes: Sequence[str]) -> Labels:
    """Read the labels of ``names`` from a ``.json`` or IRN ``.npy`` file."""
    if not osp.isfile(path):
        raise InputError(f'{path}: label file not found. Fix: for VOC, '
                         'write it from Annotations/*.xml with python '
                         'tools/make_voc_labels.py DATA_ROOT; without XML, '
                         'derive the labels from the masks: --cfg-options '
                         'train_dataloader.dataset.label_file=None '
                         'val_dataloader.dataset.label_file=None '
                         'test_dataloader.dataset.label_file=None (for '
                         'tools/run_pipeline.py, in its --cfg-options); or '
                         'correct label_file in the dataset config.')
    if path.endswith('.npy'):
        table = np.load(path, allow_pickle=True).item()
        lookup = {str(k): np.asarray(v, dtype=np.uint8)
                  for k, v in table.items()}
    else:
        with open(path, encoding='utf-8-sig') as f:
            lookup = {k: names_to_multi_hot(v, classes, f'{path} [{k}]')
                      for k, v in json.load(f).items()}
    labels = {}
    for name in names:
        label = lookup.get(name, lookup.get(name.replace('_', '')))
        if label is None:
            raise InputError(f'{path}: no label for image {name!r}. Fix: '
                             'add it to the label file or remove it from '
                             'the split file.')
        if label.shape != (len(classes) - 1, ):
            raise InputError(f'{path}: label of {name!r} has shape '
                             f'{label.shape}, expected ({len(classes) - 1},)'
                             ' for the configured classes.')
        labels[name] = label
    return labels


def _mask_stamp(path: str) -> List[int]:
    """Size and modification time of a mask: a changed mask is re-read."""
    stat = os.stat(path)
    return [stat.st_size, stat.st_mtime_ns]


def _mask_entry(path: str, classes: Sequence[str], ignore_index: int,
                palette: Optional[Sequence]) -> dict:
    """The cache entry of one mask: its class names and its stamp."""
    try:
        mask = read_label_png(path, palette)
    except OSError as e:
        raise InputError(f'{path}: unreadable mask ({e}). Fix: restore it '
                         'from the original data set.')
    check_label_values(mask, len(classes), ignore_index, path)
    present = [classes[v] for v in np.unique(mask) if 0 < v < len(classes)]
    return dict(classes=present, stamp=_mask_stamp(path))


def derive_labels(mask_paths: Dict[str, str], classes: Sequence[str],
                  ignore_index: int, cache_path: str,
                  palette: Optional[Sequence] = None) -> Labels:
    """Labels from the classes present in each mask, cached on disk.

    The cache (JSON, written atomically) maps each image name to its class
    names and the mask's size and mtime; entries of unchanged masks are
    reused, others are read again. Every read mask is checked for values
    outside the classes.

    Args:
        mask_paths (dict[str, str]): Image name to mask path.
        classes (Sequence[str]): All class names, background first.
        ignore_index (int): Mask value of ignored (boundary) pixels.
        cache_path (str): The JSON cache; not written if not writable.
        palette (Sequence, optional): The classes' colours, which palette
            masks must show (``utils.file_io.check_palette``).

    Returns:
        dict[str, np.ndarray]: Image name to (len(classes) - 1,) multi-hot.
    """
    cache = {}
    if osp.isfile(cache_path):
        with open(cache_path) as f:
            cache = json.load(f)
    todo = [n for n, p in mask_paths.items()
            if cache.get(n, {}).get('stamp') != _mask_stamp(p)]
    if todo:
        print_log(f'Deriving image labels of {len(todo)} images from their '
                  f'masks (cached in {cache_path})', logger='current')
        with Progress(len(todo)) as progress:
            for name in todo:
                cache[name] = _mask_entry(mask_paths[name], classes,
                                          ignore_index, palette)
                progress.update()
        try:
            dump_json(cache, cache_path)
        except OSError as e:
            print_log(f'Could not write the label cache {cache_path} ({e}); '
                      'labels will be derived again next time.',
                      logger='current', level=logging.WARNING)
    return {n: names_to_multi_hot(cache[n]['classes'], classes, cache_path)
            for n in mask_paths}
