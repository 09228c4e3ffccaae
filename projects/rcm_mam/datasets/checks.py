"""Validation of data files, each failure an ``InputError`` naming the file."""
import os.path as osp

import numpy as np

from ..utils.errors import InputError

_JPEG_START, _JPEG_END = b'\xff\xd8', b'\xff\xd9'


def check_image_bytes(path: str, data: bytes) -> None:
    """Reject empty, non-JPEG or truncated JPEG content of image ``path``.

    OpenCV decodes a truncated JPEG into a half-grey image with only a
    warning on stderr, so truncation is detected by the missing end marker.
    Files that are not ``.jpg``/``.jpeg`` only need to be non-empty.
    """
    if not data:
        raise InputError(f'{path}: empty image file. Fix: restore it from '
                         'the original data set or remove its name from the '
                         'split file.')
    if osp.splitext(path)[1].lower() not in ('.jpg', '.jpeg'):
        return
    if not data.startswith(_JPEG_START):
        raise InputError(f'{path}: not a JPEG file. Fix: restore it from '
                         'the original data set or remove its name from the '
                         'split file.')
    if _JPEG_END not in data[-64:]:
        raise InputError(f'{path}: truncated JPEG (no end-of-image marker). '
                         'Fix: restore it from the original data set or '
                         'remove its name from the split file.')


def check_image_file(path: str) -> None:
    """Check that image ``path`` exists and is not an obviously broken JPEG.

    Reads only the first and the last bytes, so a whole split is checked
    in about a second before training starts.
    """
    if not osp.isfile(path):
        raise InputError(f'{path}: image listed in the split file does not '
                         'exist. Fix: check data_root and data_prefix in the '
                         'config, or remove the name from the split file.')
    with open(path, 'rb') as f:
        head = f.read(2)
        f.seek(0, 2)
        f.seek(max(f.tell() - 64, 0))
        tail = f.read()
    check_image_bytes(path, head + tail if head else b'')


def check_label_values(label: np.ndarray, num_classes: int, ignore_index: int,
                       path: str) -> None:
    """Reject mask values outside ``[0, num_classes)`` and ``ignore_index``.

    Args:
        label (np.ndarray): (H, W) class indices read from ``path``.
        num_classes (int): Number of classes, background included.
        ignore_index (int): The one allowed value outside the classes.
        path (str): The mask file, for the message.
    """
    values = np.unique(label)
    bad = values[(values >= num_classes) & (values != ignore_index)]
    if bad.size:
        raise InputError(
            f'{path}: mask values {bad.tolist()} are outside the '
            f'{num_classes} classes 0..{num_classes - 1} and the ignore '
            f'index {ignore_index}. Fix: use a mask with class indices (not '
            'RGB colours), or set metainfo classes to match the data set.')
