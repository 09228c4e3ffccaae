"""Validation of data files, each failure an ``InputError`` naming the file."""
import os.path as osp
from typing import Tuple

import numpy as np
from PIL import Image

from ..utils.errors import InputError
from ..utils.file_io import rgb_mask_error

_JPEG_START, _JPEG_END = b'\xff\xd8', b'\xff\xd9'
_PNG_START = b'\x89PNG\r\n\x1a\n'


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
    if data.startswith(_PNG_START):
        raise InputError(f'{path}: a PNG file under a JPEG name. Fix: '
                         'convert it to JPEG (or rename it and set the '
                         "dataset's img_suffix='.png'), or remove its name "
                         'from the split file.')
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
        head = f.read(len(_PNG_START))
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
    if label.ndim != 2:
        raise rgb_mask_error(path)
    values = np.unique(label)
    bad = values[(values >= num_classes) & (values != ignore_index)]
    if bad.size:
        raise InputError(
            f'{path}: mask values {bad.tolist()} are outside the '
            f'{num_classes} classes 0..{num_classes - 1} and the ignore '
            f'index {ignore_index}. Fix: set metainfo classes to match the '
            'data set, or correct the mask.')


_EXIF_ORIENTATION = 0x0112


def image_header(path: str) -> Tuple[int, int, int]:
    """Stored (H, W) and EXIF orientation tag (1, upright, if none) of
    image ``path``, from one read of its header."""
    try:
        with Image.open(path) as image:
            w, h = image.size
            try:
                orientation = int(image.getexif().get(_EXIF_ORIENTATION, 1))
            except Exception:  # a broken EXIF block raises many types
                orientation = 1
    except (OSError, SyntaxError) as e:
        raise InputError(f'{path}: corrupt image ({e}). Fix: restore it '
                         'from the original data set or remove its name '
                         'from the split file.')
    return h, w, orientation


def applies_orientation(color_type: str) -> bool:
    """Whether an image loader with ``color_type`` applies EXIF rotation.

    mmcv's flags ``color`` and ``grayscale`` rotate the image by its EXIF
    orientation, ``*_ignore_orientation`` keep the stored pixels
    (``unchanged`` too).
    """
    return color_type in ('color', 'grayscale')


def loaded_size(path: str, color_type: str) -> Tuple[int, int]:
    """(H, W) of image ``path`` as a loader with ``color_type`` returns it,
    read from the header only."""
    h, w, orientation = image_header(path)
    if applies_orientation(color_type) and orientation in (5, 6, 7, 8):
        return w, h
    return h, w


def check_mask_fits_image(mask_shape: Tuple[int, ...],
                          image_shape: Tuple[int, ...], mask_path: str,
                          image_path: str) -> None:
    """A mask must have the (H, W) of its image as the image was loaded.

    The usual cause of a mismatch is an EXIF orientation tag: VOC's masks
    (and most annotation tools') are drawn on the stored pixels, and a
    loader with ``color_type='color'`` rotates the image.
    """
    if tuple(mask_shape[:2]) == tuple(image_shape[:2]):
        return
    h, w, orientation = image_header(image_path)
    rotated = tuple(image_shape[:2]) != (h, w)
    if orientation == 1:
        why, fix = 'no EXIF orientation', "replace the mask with the image's"
    elif rotated:
        why = f'EXIF orientation {orientation} applied'
        fix = ("load the images with color_type='color_ignore_orientation' "
               'if the masks were drawn on the stored pixels')
    else:
        why = f'EXIF orientation {orientation} ignored'
        fix = ("load the images with color_type='color' if the masks were "
               'drawn on the rotated photo')
    raise InputError(
        f'{mask_path}: mask is {mask_shape[0]}x{mask_shape[1]} pixels but '
        f'its image {image_path} is {image_shape[0]}x{image_shape[1]} as '
        f'loaded ({why}). Fix: {fix} (the image loaders of the configs).')
