"""Crash-safe writing of output files and reading of label PNGs."""
import errno
import json
import os
import os.path as osp
import secrets
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

import cv2
import numpy as np
from mmengine.fileio import LocalBackend, register_backend
from PIL import Image

from .errors import InputError


def _create_temporary(folder: str, stem: str, ext: str) -> str:
    """Create an empty, uniquely named hidden file in ``folder``.

    Unlike ``tempfile.mkstemp`` (always mode 0600) the file is created with
    mode 0666 less the umask, like any file ``open(path, 'w')`` makes, so
    outputs on a shared machine are as readable as the user's umask says.
    """
    while True:
        tmp = osp.join(folder, f'.{stem}.{secrets.token_hex(4)}.tmp{ext}')
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                             0o666))
            return tmp
        except FileExistsError:
            continue


def atomic_write(path: str, write: Callable[[str], None]) -> None:
    """Write a file so that ``path`` is either complete or absent.

    ``write(tmp_path)`` writes to a temporary file in the same folder, which
    then replaces ``path`` in one ``os.replace`` (atomic on POSIX). A crash
    leaves at most a ``.tmp`` file behind, never a truncated ``path``. The
    file's mode follows the umask. A full disk is an ``InputError`` naming
    the folder.

    Args:
        path (str): Final file path.
        write (Callable[[str], None]): Writes the content to the given path.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    stem, ext = osp.splitext(osp.basename(path))
    tmp = _create_temporary(folder, stem, ext)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException as e:
        if osp.exists(tmp):
            os.remove(tmp)
        if isinstance(e, OSError) and e.errno == errno.ENOSPC:
            raise InputError(f'{folder}: no space left on the device while '
                             f'writing {osp.basename(path)} (nothing partial '
                             'was kept; a re-run resumes). Fix: free space '
                             'there, or write elsewhere (--work-dir).'
                             ) from None
        raise


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """MMEngine's local file backend writing through :func:`atomic_write`.

    MMEngine saves a checkpoint by writing ``iter_N.pth`` in place: a full
    disk or a kill while saving leaves it truncated, and ``last_checkpoint``
    points to it. The configs' ``CheckpointHook`` uses this backend
    (``backend_args=dict(backend='atomic_local')``) instead.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes to ``filepath`` atomically."""
        atomic_write(str(filepath), lambda tmp: Path(tmp).write_bytes(obj))

    def put_text(self, obj: str, filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically."""
        atomic_write(str(filepath),
                     lambda tmp: Path(tmp).write_text(obj, encoding))


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


def rgb_mask_error(path: str) -> InputError:
    """The error for a mask of RGB colours where class indices are read."""
    return InputError(
        f'{path}: mask of RGB colours, not class indices. Fix: convert the '
        'colours to indices with python tools/convert_rgb_masks.py MASK_DIR '
        'OUT_DIR (VOC colour map), then point data_prefix.seg_map_path to '
        'OUT_DIR.')


# PIL's modes of label PNGs: palette, 8-bit and 16-bit grayscale (the
# 16-bit ones open as I;16 or, on some Pillow versions, I)
LABEL_MODES = ('P', 'L', 'I;16', 'I;16B', 'I;16L', 'I')


def read_label_png(path: str,
                   palette: Optional[Sequence[Sequence[int]]] = None
                   ) -> np.ndarray:
    """Read a label PNG (palette or 8- or 16-bit grayscale) as class indices
    in the file's full width (a 16-bit 2048 stays 2048, for the value check
    to see it).

    Args:
        path (str): The PNG.
        palette (Sequence, optional): The data set's colour of each class:
            a palette PNG must show the classes it uses in them
            (:func:`check_palette`). None: no check.

    Raises:
        InputError: If the PNG holds RGB colours, or its palette disagrees.
        OSError: If the file is missing, truncated or not a PNG.

    Returns:
        np.ndarray: (H, W) integer class indices (uint8 for 8-bit files).
    """
    with Image.open(path) as image:
        if image.mode in ('RGB', 'RGBA'):
            raise rgb_mask_error(path)
        if image.mode not in LABEL_MODES:
            raise OSError(f'expected a palette or grayscale PNG, got mode '
                          f'{image.mode}')
        label = np.array(image)
        if palette is not None and image.mode == 'P':
            check_palette(path, image.getpalette(), np.unique(label),
                          palette)
        return label


def check_palette(path: str, colours: Sequence[int], values: np.ndarray,
                  palette: Sequence[Sequence[int]]) -> None:
    """Refuse a palette mask whose colours disagree with the data set's
    classes for the indices it uses: its indices were renumbered with its
    palette (the picture looks right), as some annotation tools save.

    Args:
        path (str): The mask, for the message.
        colours (Sequence[int]): The PNG's palette, flat RGB.
        values (np.ndarray): The indices the mask uses.
        palette (Sequence): The data set's RGB colour of each class.
    """
    wrong = [(int(v), tuple(colours[3 * v:3 * v + 3]), tuple(palette[v]))
             for v in values if v < len(palette)
             and tuple(colours[3 * v:3 * v + 3]) != tuple(palette[v])]
    if wrong:
        shown = '; '.join(f'index {v}: {mine} in the file, {theirs} in the '
                          'data set' for v, mine, theirs in wrong[:3])
        raise InputError(
            f'{path}: palette mask whose colours disagree with the data '
            f"set's classes ({shown}): its indices may have been renumbered "
            'with its palette. Fix: renumber them to the data set\'s '
            'classes, or read masks by index with palette_check=False in '
            'the dataset config.')


def colours_to_indices(rgb: np.ndarray, path: str) -> np.ndarray:
    """Class indices of a mask drawn in the VOC colour map.

    Args:
        rgb (np.ndarray): (H, W, 3) uint8 colours: those of
            :func:`voc_palette`, VOC's boundary colour (224, 224, 192) and
            white both meaning 255 (ignore).
        path (str): The mask file, for the message.

    Raises:
        InputError: If a colour is not in the colour map.

    Returns:
        np.ndarray: (H, W) uint8 class indices.
    """
    def code(colours: np.ndarray) -> np.ndarray:
        colours = colours.astype(np.int64)
        return colours[..., 0] << 16 | colours[..., 1] << 8 | colours[..., 2]

    lookup = dict(zip(code(voc_palette(256)).tolist(), range(256)))
    lookup[0xFFFFFF] = 255
    values, inverse = np.unique(code(rgb[..., :3]), return_inverse=True)
    unknown = [v for v in values.tolist() if v not in lookup]
    if unknown:
        colour = ((unknown[0] >> 16) & 255, (unknown[0] >> 8) & 255,
                  unknown[0] & 255)
        raise InputError(f'{path}: colour {colour} is not in the VOC colour '
                         'map. Fix: draw the mask in the VOC colours (class '
                         'i in voc_palette()[i]) or save class indices.')
    indices = np.array([lookup[v] for v in values.tolist()], dtype=np.uint8)
    return indices[inverse].reshape(rgb.shape[:2])


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
