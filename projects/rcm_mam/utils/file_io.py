"""Crash-safe writing of output files and reading of label PNGs."""
import json
import os
import os.path as osp
import tempfile
from typing import Any, Callable, Optional, Sequence

import cv2
import numpy as np
from PIL import Image

from .errors import InputError


def atomic_write(path: str, write: Callable[[str], None]) -> None:
    """Write a file so that ``path`` is either complete or absent.

    ``write(tmp_path)`` writes to a temporary file in the same folder, which
    then replaces ``path`` in one ``os.replace`` (atomic on POSIX). A crash
    leaves at most a ``.tmp`` file behind, never a truncated ``path``.

    Args:
        path (str): Final file path.
        write (Callable[[str], None]): Writes the content to the given path.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    stem, ext = osp.splitext(osp.basename(path))
    fd, tmp = tempfile.mkstemp(prefix=f'.{stem}.', suffix=f'.tmp{ext}',
                               dir=folder)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def dump_json(obj: Any, path: str) -> None:
    """Atomically write ``obj`` as indented JSON to ``path``."""

    def write(tmp: str) -> None:
        with open(tmp, 'w') as f:
            json.dump(obj, f, indent=2)

    atomic_write(path, write)


def save_lines(lines: Sequence[str], path: str) -> None:
    """Atomically write one line per string of ``lines`` to ``path``."""

    def write(tmp: str) -> None:
        with open(tmp, 'w') as f:
            f.write(''.join(line + '\n' for line in lines))

    atomic_write(path, write)


def save_jpeg(image: np.ndarray, path: str) -> None:
    """Atomically write an (H, W, 3) uint8 RGB image as a quality-92 JPEG."""
    ok, data = cv2.imencode('.jpg', image[..., ::-1],
                            [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok, path
    atomic_write(path, lambda tmp: data.tofile(tmp))


def voc_palette(num_classes: int = 256) -> np.ndarray:
    """The PASCAL VOC colour map (bit-interleaved), as in the VOC devkit.

    Args:
        num_classes (int): Number of colours to return (at most 256).

    Returns:
        np.ndarray: (num_classes, 3) uint8 RGB colours; index 0 is black.
    """
    palette = np.zeros((256, 3), dtype=np.uint8)
    for label in range(256):
        c, r, g, b = label, 0, 0, 0
        for shift in range(7, -1, -1):
            r |= (c & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        palette[label] = (r, g, b)
    return palette[:num_classes]


def save_label_png(label: np.ndarray, path: str,
                   palette: Optional[Sequence[Sequence[int]]] = ()) -> None:
    """Atomically save a label map as an 8-bit PNG of class indices.

    Args:
        label (np.ndarray): (H, W) integer class indices in [0, 255].
        path (str): Destination ``.png`` path.
        palette (Sequence, optional): RGB colours of the first indices, the
            rest from the VOC colour map (index 255 white, as in VOC): a
            palette PNG like VOC's ``SegmentationClass``. None writes a
            grayscale PNG like SBD's ``SegmentationClassAug``.
    """
    image = Image.fromarray(label.astype(np.uint8), mode='L')
    if palette is not None:
        colours = voc_palette(256)
        if len(palette):
            colours[:len(palette)] = np.asarray(palette, dtype=np.uint8)
        colours[255] = 255
        image = image.convert('P')
        image.putpalette(colours.flatten().tolist())
    atomic_write(path, lambda tmp: image.save(tmp, format='PNG'))


def read_label_png(path: str) -> np.ndarray:
    """Read a label PNG (palette or grayscale) as class indices.

    Raises:
        OSError: If the file is missing, truncated or not a PNG.

    Returns:
        np.ndarray: (H, W) uint8 class indices.
    """
    with Image.open(path) as image:
        if image.mode not in ('P', 'L'):
            raise OSError(f'expected a palette or grayscale PNG, got mode '
                          f'{image.mode}')
        return np.array(image)


def check_relative_name(name: str, where: str,
                        fix: str = 'list names like 2007_000032') -> None:
    """Reject a name that could address files outside its folder.

    Image names from split files become output file names (pseudo labels)
    and output folders are joined to the work dir, so ``..`` components
    and absolute paths are refused.
    """
    if (not name or osp.isabs(name) or '\\' in name or '\0' in name
            or '..' in name.split('/')):
        raise InputError(f'{where}: {name!r} is not a plain relative name. '
                         f'Fix: {fix} (no "..", no leading "/").')
