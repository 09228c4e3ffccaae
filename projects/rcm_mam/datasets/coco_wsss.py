"""MS COCO 2014 in the layout :class:`VOCImageLabelDataset` reads.

:func:`convert_coco2014` reads COCO as downloaded and writes beside it::

    ROOT/
        train2014/  val2014/                        COCO's images (read)
        annotations/instances_{train,val}2014.json  COCO's instances (read)
        SegmentationClass/<image name>.png          class masks
        ImageSets/Segmentation/train.txt            images with annotations
        ImageSets/Segmentation/val.txt
        ImageSets/Segmentation/train_subset.txt     seeds' subset of train
        ImageSets/Segmentation/no_annotation.txt    images without any
        cls_labels.json                             image labels (names)
        coco2014_wsss.json                          what made them; counts

Masks and labels follow the rules of :mod:`.coco_instances`; the masks are
palette PNGs like VOC's ``SegmentationClass`` and are drawn on the stored
pixels, as COCO's annotations are (whatever a JPEG's EXIF orientation tag
says): an image whose stored size is not its annotated one is an error.
Images without any annotation (crowd regions count) have nothing to
localise or score: they are left out of the splits and listed in
``no_annotation.txt``. Every file is written atomically and finished masks
are kept, so a re-run resumes; ``coco2014_wsss.json`` records digests of
the annotation files, and masks made from other ones are refused.
"""
import hashlib
import json
import os.path as osp
from functools import partial
from multiprocessing import Pool
from typing import Dict, List, Tuple

import numpy as np
from mmengine.logging import print_log
from pycocotools.coco import COCO

from ..utils.errors import InputError
from ..utils.file_io import (check_relative_name, dump_json, save_label_png,
                             save_lines)
from ..utils.progress import Progress
from .checks import image_header
from .coco_instances import (category_labels, check_categories, class_names,
                             image_classes, read_instances, same_categories,
                             semantic_mask)

SPLITS = ('train', 'val')
MASK_DIR = 'SegmentationClass'
SPLIT_DIR = osp.join('ImageSets', 'Segmentation')
LABEL_FILE = 'cls_labels.json'
RECORD = 'coco2014_wsss.json'

# One image to convert: (name, image path, H, W, its annotations).
Task = Tuple[str, str, int, int, List[dict]]


def annotation_file(root: str, split: str) -> str:
    """COCO 2014's instance annotation file of ``split``."""
    return osp.join(root, 'annotations', f'instances_{split}2014.json')


def file_digest(path: str) -> str:
    """SHA-256 of a file, read in 16 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 24), b''):
            digest.update(block)
    return digest.hexdigest()


def claim(root: str, settings: dict) -> None:
    """Record ``settings`` in ``ROOT/coco2014_wsss.json``, or check that the
    masks already there were made with the same ones."""
    path = osp.join(root, RECORD)
    if not osp.isfile(path):
        dump_json(dict(settings=settings, complete=False), path)
        return
    with open(path) as f:
        if json.load(f)['settings'] != settings:
            raise InputError(
                f'{root}: its {MASK_DIR} was made from other annotation '
                f'files (see {RECORD}). Fix: remove {MASK_DIR}/ and {RECORD}'
                ' to convert these ones.')


def image_tasks(coco: COCO, root: str, split: str,
                ann_path: str) -> Tuple[List[Task], List[str]]:
    """The images of ``split`` with annotations as tasks, and the names of
    those without, both in name order.

    Raises:
        InputError: If an image listed in ``ann_path`` is missing or its
            file name is not a plain name.
    """
    tasks, empty = [], []
    for image_id, info in coco.imgs.items():
        name = osp.splitext(info['file_name'])[0]
        check_relative_name(name, f'{ann_path} [image {image_id}]',
                            fix='restore the file from COCO')
        path = osp.join(root, f'{split}2014', info['file_name'])
        if not osp.isfile(path):
            raise InputError(
                f'{path}: image listed in {ann_path} does not exist. Fix: '
                f'unpack COCO\'s {split}2014.zip into {root} (all of it).')
        annotations = coco.imgToAnns[image_id]
        if annotations:
            tasks.append((name, path, info['height'], info['width'],
                          annotations))
        else:
            empty.append(name)
    return sorted(tasks, key=lambda t: t[0]), sorted(empty)


def write_mask(task: Task, mask_dir: str, labels: Dict[int, int]) -> None:
    """Write the class mask of one image (run in a worker process)."""
    name, path, height, width, annotations = task
    stored = image_header(path)[:2]
    if stored != (height, width):
        raise InputError(
            f'{path}: image is {stored[0]}x{stored[1]} pixels as stored, but '
            f'its annotation file gives {height}x{width}. Fix: restore the '
            "image from COCO's zip (annotations are drawn on the stored "
            'pixels).')
    save_label_png(semantic_mask(annotations, height, width, labels),
                   osp.join(mask_dir, name + '.png'))


def write_masks(tasks: List[Task], mask_dir: str, labels: Dict[int, int],
                nproc: int) -> None:
    """Write the masks not yet written, in ``nproc`` processes."""
    todo = [t for t in tasks
            if not osp.isfile(osp.join(mask_dir, t[0] + '.png'))]
    print_log(f'{len(todo)} of {len(tasks)} masks to write -> {mask_dir}',
              logger='current')
    if not todo:
        return
    work = partial(write_mask, mask_dir=mask_dir, labels=labels)
    with Pool(nproc) as pool, Progress(len(todo)) as progress:
        for _ in pool.imap_unordered(work, todo, chunksize=16):
            progress.update()


def seed_subset(names: List[str], size: int, seed: int = 0) -> List[str]:
    """``size`` of ``names`` (all, if fewer) drawn with a fixed seed, kept
    in the order of ``names``."""
    rng = np.random.default_rng(seed)
    keep = rng.choice(len(names), size=min(size, len(names)), replace=False)
    return [names[i] for i in sorted(keep)]


def write_lists(root: str, splits: Dict[str, List[str]],
                labels: Dict[str, List[str]], record: dict) -> None:
    """Write the split files (split name to image names), the label file
    (image name to class names) and the record, each atomically."""
    for split, names in splits.items():
        save_lines(names, osp.join(root, SPLIT_DIR, split + '.txt'))
    dump_json(labels, osp.join(root, LABEL_FILE))
    dump_json(record, osp.join(root, RECORD))


def load_annotations(root: str) -> Dict[str, COCO]:
    """Both splits' annotation files, checked: known category ids, and the
    same categories in both."""
    indexes = {}
    for split in SPLITS:
        path = annotation_file(root, split)
        indexes[split] = read_instances(path)
        check_categories(indexes[split], path)
    if not same_categories(indexes['train'], indexes['val']):
        raise InputError(
            f'{annotation_file(root, "val")}: its categories differ from '
            f'those of {annotation_file(root, "train")}, so the class ids '
            'would too. Fix: use the annotation files of one COCO release.')
    return indexes


def convert_coco2014(root: str, nproc: int = 8, subset: int = 1000) -> dict:
    """Write masks, splits, labels and record of COCO 2014 under ``root``.

    Args:
        root (str): The folder holding ``train2014/``, ``val2014/`` and
            ``annotations/``.
        nproc (int): Processes writing masks.
        subset (int): Images of ``train_subset.txt``, drawn from ``train``
            with a fixed seed: the split the seeds are scored on.

    Returns:
        dict: Images per split (``train``, ``val``, ``train_subset``) and
        without annotation per split (``train_no_annotation``, ...).
    """
    indexes = load_annotations(root)
    settings = dict(annotations={
        osp.basename(annotation_file(root, s)): file_digest(
            annotation_file(root, s)) for s in SPLITS})
    claim(root, settings)
    labels = category_labels(indexes['train'])
    splits, empty, table = {}, {}, {}
    for split, coco in indexes.items():
        tasks, empty[split] = image_tasks(coco, root, split,
                                          annotation_file(root, split))
        write_masks(tasks, osp.join(root, MASK_DIR), labels, nproc)
        splits[split] = [t[0] for t in tasks]
        table.update({t[0]: image_classes(t[4], coco) for t in tasks})
    splits['train_subset'] = seed_subset(splits['train'], subset)
    counts = {split: len(names) for split, names in splits.items()}
    counts.update({f'{s}_no_annotation': len(empty[s]) for s in SPLITS})
    splits['no_annotation'] = empty['train'] + empty['val']
    write_lists(root, splits, table, dict(
        settings=settings, complete=True, counts=counts,
        classes=class_names(indexes['train'])))
    return counts
