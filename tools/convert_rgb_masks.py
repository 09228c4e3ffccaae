"""Convert masks drawn in colours (VOC's colour map) to class-index PNGs.

    python tools/convert_rgb_masks.py MASK_DIR OUT_DIR

Reads every ``MASK_DIR/*.png`` and writes ``OUT_DIR/<name>.png``, a palette
PNG of class indices as VOC's ``SegmentationClass`` (class i drawn in VOC's
colour i; the boundary colour and white become 255, ignored). Masks that
already hold indices are copied as they are. Each file is written
atomically; finished ones are kept, so a re-run resumes.
"""
import argparse
import glob
import os.path as osp
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from projects.rcm_mam.utils.cli import run  # noqa: E402
from projects.rcm_mam.utils.errors import InputError  # noqa: E402
from projects.rcm_mam.utils.file_io import (colours_to_indices,  # noqa
                                            save_label_png)
from projects.rcm_mam.utils.progress import Progress  # noqa: E402


def convert(path: str, out: str) -> None:
    """Write the class-index PNG of mask ``path`` to ``out``."""
    with Image.open(path) as image:
        if image.mode in ('P', 'L'):
            label = np.array(image)
        else:
            label = colours_to_indices(np.array(image.convert('RGB')), path)
    save_label_png(label, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('mask_dir', help='folder of RGB mask PNGs')
    parser.add_argument('out_dir', help='folder of the index PNGs')
    args = parser.parse_args()
    if osp.abspath(args.out_dir) == osp.abspath(args.mask_dir):
        raise InputError(f'{args.out_dir}: the output folder is the input '
                         'folder. Fix: give another OUT_DIR.')
    paths = sorted(glob.glob(osp.join(glob.escape(args.mask_dir), '*.png')))
    if not paths:
        raise InputError(f'{args.mask_dir}: no .png mask found. Fix: give '
                         'the folder that holds the masks.')
    todo = [(p, osp.join(args.out_dir, osp.basename(p))) for p in paths]
    todo = [(p, out) for p, out in todo if not osp.isfile(out)]
    print(f'{len(todo)} of {len(paths)} masks to convert -> {args.out_dir}')
    with Progress(len(todo)) as progress:
        for path, out in todo:
            convert(path, out)
            progress.update()


if __name__ == '__main__':
    run(main)
