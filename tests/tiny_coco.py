"""A tiny MS COCO 2014 in COCO's own format, written deterministically.

Seven 48x64 JPEGs in ``train2014/`` and ``val2014/`` and their
``annotations/instances_{train,val}2014.json`` with COCO's 80 categories
and real (non-contiguous) ids. What each image tests:

- train 9: a cup on a dining table, the cup listed first (the smaller
  instance wins, whatever the order); a person over a crowd of people
  (crowd: 255 where no instance covers it); polygons and uncompressed RLE;
- train 25: toothbrush (id 90) as compressed RLE, stop sign (id 13) as two
  polygons: the ids become 80 and 12;
- train 30 and val 73: no annotation (left out of the splits);
- train 34: only a crowd region of books (labelled book, masked 255);
- train 36: a dog, the JPEG with EXIF orientation 6 (masks are drawn on the
  stored pixels, as the annotations);
- val 42 and 49: a cat; a person and a car.
"""
import json
import os
import os.path as osp
from typing import Dict, List

import numpy as np
from mmengine.config import Config
from PIL import Image
from pycocotools import mask as mask_utils

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CLASSES = Config.fromfile(osp.join(
    ROOT, 'configs', '_base_', 'datasets', 'coco2014_classes.py')).coco_classes
# COCO's category ids: 1-90 less these ten
GAPS = (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)
IDS = [i for i in range(1, 91) if i not in GAPS]
CATEGORY = dict(zip(CLASSES[1:], IDS))
H, W = 48, 64


def box(x0: int, y0: int, x1: int, y1: int) -> List[float]:
    """A rectangle as a COCO polygon (x, y pairs)."""
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def region(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """(H, W) bool mask of the pixels x0 <= x < x1, y0 <= y < y1."""
    mask = np.zeros((H, W), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def uncompressed_rle(mask: np.ndarray) -> dict:
    """COCO's uncompressed RLE (as crowd regions are stored): run lengths
    of the column-major pixels, starting with a run of zeros."""
    flat = mask.flatten(order='F').astype(int)
    edges = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], edges, [flat.size]]))
    counts = ([0] if flat[0] else []) + runs.tolist()
    return dict(size=[H, W], counts=counts)


def compressed_rle(mask: np.ndarray) -> dict:
    """COCO's compressed RLE (a string of counts)."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(size=[H, W], counts=rle['counts'].decode('ascii'))


# image id -> [(class name, segmentation, iscrowd)] in the file's order
TRAIN = {
    9: [('cup', [box(20, 24, 30, 34)], 0),
        ('dining table', [box(4, 20, 60, 44)], 0),
        ('person', uncompressed_rle(region(36, 0, 64, 16)), 1),
        ('person', [box(44, 4, 56, 30)], 0)],
    25: [('toothbrush', compressed_rle(region(10, 10, 20, 30)), 0),
         ('stop sign', [box(40, 5, 50, 15), box(40, 30, 50, 40)], 0)],
    30: [],
    34: [('book', uncompressed_rle(region(10, 20, 50, 40)), 1)],
    36: [('dog', [box(8, 8, 40, 40)], 0)],
}
VAL = {
    42: [('cat', [box(10, 6, 50, 42)], 0)],
    49: [('person', [box(4, 4, 20, 44)], 0),
         ('car', [box(30, 20, 60, 40)], 0)],
    73: [],
}
ROTATED = 36  # stored with EXIF orientation 6


def file_name(split: str, image_id: int) -> str:
    return f'COCO_{split}2014_{image_id:012d}.jpg'


def write_image(path: str, image_id: int) -> None:
    """A JPEG of noise over flat colours, seeded by its id."""
    rng = np.random.default_rng(image_id)
    image = rng.integers(0, 256, (1, 1, 3)) + rng.normal(0, 20, (H, W, 3))
    exif = Image.Exif()
    if image_id == ROTATED:
        exif[0x0112] = 6
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(
        path, quality=90, exif=exif)


def instances(split: str, images: Dict[int, list]) -> dict:
    """The annotation file's content; annotation ids count from
    1000 * image id, in the listed order."""
    annotations = []
    for image_id, objects in images.items():
        for k, (name, segmentation, crowd) in enumerate(objects):
            annotations.append(dict(
                id=1000 * image_id + k, image_id=image_id,
                category_id=CATEGORY[name], segmentation=segmentation,
                iscrowd=crowd, area=0.0, bbox=[0, 0, 0, 0]))
    return dict(
        images=[dict(id=i, file_name=file_name(split, i), height=H, width=W)
                for i in images],
        annotations=annotations,
        categories=[dict(id=CATEGORY[n], name=n, supercategory='thing')
                    for n in CLASSES[1:]])


def write_tiny_coco(root: str) -> str:
    """Write the set under ``root``; return ``root``."""
    os.makedirs(osp.join(root, 'annotations'))
    for split, images in (('train', TRAIN), ('val', VAL)):
        os.makedirs(osp.join(root, f'{split}2014'))
        for image_id in images:
            write_image(osp.join(root, f'{split}2014',
                                 file_name(split, image_id)), image_id)
        with open(osp.join(root, 'annotations',
                           f'instances_{split}2014.json'), 'w') as f:
            json.dump(instances(split, images), f)
    return root
