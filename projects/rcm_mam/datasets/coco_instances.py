"""MS COCO instance annotations as the semantic masks and image labels of WSSS.

The rules, for every image of an annotation file (``instances_*.json``):

- **class ids**: the file's categories in the order of their ids, numbered
  1..K, 0 being the background (COCO's 80 ids, 1 to 90 with gaps, become
  1-80: person 1, stop sign (13) 12, toothbrush (90) 80);
- **overlaps**: a pixel covered by several instances takes the class of the
  smallest one (fewest pixels; of equal ones, the one listed later), so an
  object in front of a larger one (a cup on a table, a person on a couch)
  keeps its pixels whatever order the file lists them in;
- **crowd regions** (``iscrowd`` 1: a group of objects outlined as one) are
  255, ignored in scoring, where no single instance covers them;
- **image labels**: the category of every annotation, crowd regions
  included: a crowd of people shows people, so the classifier is not taught
  that they are absent (their pixels are ignored, not background).
"""
import os.path as osp
from typing import Dict, List, Sequence

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from ..utils.errors import InputError

IGNORE_INDEX = 255


def read_instances(path: str) -> COCO:
    """The COCO index of annotation file ``path``.

    Raises:
        InputError: If the file is missing or not a COCO annotation file.
    """
    if not osp.isfile(path):
        raise InputError(f'{path}: annotation file not found. Fix: unpack '
                         "COCO's annotations_trainval2014.zip into the data "
                         'root (annotations/instances_{train,val}2014.json).')
    try:
        return COCO(path)
    except (ValueError, KeyError, TypeError, AssertionError) as e:
        raise InputError(f'{path}: not a COCO instance annotation file '
                         f'({type(e).__name__}: {e}). Fix: restore it from '
                         "COCO's annotations_trainval2014.zip.")


def category_labels(coco: COCO) -> Dict[int, int]:
    """Category id to class id: the ids in ascending order, from 1."""
    return {cat: label for label, cat in enumerate(sorted(coco.cats), 1)}


def class_names(coco: COCO) -> List[str]:
    """The category names in the order of their class ids (1..K)."""
    return [coco.cats[cat]['name'] for cat in sorted(coco.cats)]


def check_categories(coco: COCO, path: str) -> None:
    """Every annotation must name a category of the file.

    Raises:
        InputError: Naming the file, the annotation and the category id.
    """
    for ann in coco.anns.values():
        if ann['category_id'] not in coco.cats:
            raise InputError(
                f'{path}: annotation {ann["id"]} of image {ann["image_id"]} '
                f'has category id {ann["category_id"]}, which is not in the '
                f'file\'s categories {sorted(coco.cats)}. Fix: restore the '
                "file from COCO's annotations_trainval2014.zip.")


def instance_mask(segmentation, height: int, width: int) -> np.ndarray:
    """The (H, W) bool mask of a COCO ``segmentation``: polygons, or RLE
    (uncompressed, as crowd regions are stored, or compressed)."""
    if isinstance(segmentation, list):  # polygons of one instance
        rle = mask_utils.merge(
            mask_utils.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation['counts'], list):
        rle = mask_utils.frPyObjects(segmentation, height, width)
    else:
        rle = segmentation
    return mask_utils.decode(rle).astype(bool)


def semantic_mask(annotations: Sequence[dict], height: int, width: int,
                  labels: Dict[int, int]) -> np.ndarray:
    """The (H, W) uint8 class mask of one image by the module's rules.

    Args:
        annotations (Sequence[dict]): The image's COCO annotations.
        height (int): Image height H.
        width (int): Image width W.
        labels (dict[int, int]): Category id to class id.

    Returns:
        np.ndarray: (H, W) uint8: 0 background, class ids, 255 crowd.
    """
    mask = np.zeros((height, width), np.uint8)
    crowd = [a for a in annotations if a.get('iscrowd', 0)]
    for ann in crowd:
        mask[instance_mask(ann['segmentation'], height, width)] = \
            IGNORE_INDEX
    objects = [(instance_mask(a['segmentation'], height, width),
                labels[a['category_id']])
               for a in annotations if not a.get('iscrowd', 0)]
    # largest first, so each smaller one is painted over it; sorted() is
    # stable: of equal sizes the later stays on top
    for pixels, label in sorted(objects, key=lambda o: -int(o[0].sum())):
        mask[pixels] = label
    return mask


def image_classes(annotations: Sequence[dict], coco: COCO) -> List[str]:
    """The class names of an image's annotations (crowd regions included),
    in class-id order."""
    cats = sorted({a['category_id'] for a in annotations})
    return [coco.cats[cat]['name'] for cat in cats]


def same_categories(coco: COCO, other: COCO) -> bool:
    """Whether two annotation files list the same categories (ids and
    names), so that their masks share the class ids."""
    return ({c: v['name'] for c, v in coco.cats.items()} ==
            {c: v['name'] for c, v in other.cats.items()})
