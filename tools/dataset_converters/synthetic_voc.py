"""A small synthetic data set in the exact PASCAL VOC2012 (+ SBD) layout.

It is built to be a fair test of weakly supervised segmentation, like real
photos in miniature. Every object is a large *body* plus a small, highly
discriminative *cue* (a face, wheels, a beak, a window row):

- the cue's colours and pattern belong to its class alone, so a classifier
  needs nothing else, and a plain CAM settles on it;
- the body's material (texture and colour) is drawn from a per-class
  distribution that other classes share in part (cat and dog both have fur,
  car and bus paint, and colours recur across classes and in the background
  clutter), so the body is class-typical but not class-unique: a method that
  spreads class evidence to similar-looking pixels of the same object has
  something real to find.

Images are JPEG; masks use VOC class indices, with a 255 band on object
boundaries; ``Annotations/*.xml`` list each image's objects as VOC's
do. Everything is drawn from ``numpy.random.default_rng`` seeded by
``(seed, split, index)``, so the output is byte-identical for a given seed
and an image does not change when the split sizes change.
"""
import json
import os.path as osp
import xml.etree.ElementTree as ET
from multiprocessing import Pool
from typing import Dict, List, Tuple

import cv2
import numpy as np
from mmseg.datasets import PascalVOCDataset

from projects.rcm_mam.datasets.voc_xml import write_label_file
from projects.rcm_mam.utils.errors import InputError
from projects.rcm_mam.utils.file_io import (atomic_write, dump_json,
                                            save_jpeg, save_label_png,
                                            save_lines)
from .drawing import (Parts, cat_face, dog_face, ellipse, human_face, jitter,
                      polygon, rect, texture)

# VOC's class names, background first, and palette: MMSegmentation's.
VOC_CLASSES = PascalVOCDataset.METAINFO['classes']
VOC_PALETTE = PascalVOCDataset.METAINFO['palette']
# The classes drawn, as VOC names (their masks use the VOC indices).
CLASSES = ('bird', 'bus', 'car', 'cat', 'dog', 'person')
# Each class as (body shape, cue) in the vocabulary of the pretraining
# corpus (parts_corpus.py), none of whose classes may reuse these pairs.
SIGNATURES: Dict[str, Tuple[str, str]] = dict(
    bird=('bird', 'beak'), bus=('box', 'windows'), car=('car', 'wheels'),
    cat=('quadruped', 'cat_face'), dog=('quadruped', 'dog_face'),
    person=('upright', 'face'))

# Body material distribution of each class: ({texture: probability},
# {colour: probability}). Shared textures and colours make bodies ambiguous.
BODIES: Dict[str, Tuple[Dict[str, float], Dict[str, float]]] = dict(
    cat=(dict(fur=1.), dict(grey=.35, orange=.35, brown=.15, black=.15)),
    dog=(dict(fur=1.), dict(brown=.4, black=.2, white=.2, grey=.2)),
    bird=(dict(feather=.6, fur=.4), dict(brown=.3, blue=.3, yellow=.2,
                                         grey=.2)),
    car=(dict(paint=1.), dict(red=.35, blue=.25, silver=.25, black=.15)),
    bus=(dict(paint=1.), dict(yellow=.4, red=.3, white=.3)),
    person=(dict(cloth=.8, feather=.2), dict(blue=.3, red=.2, white=.2,
                                             black=.2, green=.1)))

# Background materials; 'wood' and 'stone' look like fur and paint.
BACKGROUNDS: Dict[str, Tuple[str, Tuple[str, ...]]] = dict(
    grass=('fur', ('green', )), sky=('sky', ('blue', 'white')),
    wall=('cloth', ('beige', 'grey', 'white')), road=('noise', ('grey', )),
    wood=('fur', ('brown', 'orange')), stone=('paint', ('grey', 'silver')))


def draw_object(rng: np.random.Generator, name: str, shape: Tuple[int, int],
                size: float, centre: Tuple[float, float]):
    """Body and cue masks of one object of class ``name``.

    Args:
        rng: Random generator.
        name (str): Class name, one of :data:`CLASSES`.
        shape (tuple): (H, W) of the image.
        size (float): Object width in pixels.
        centre (tuple): (x, y) of the body centre.

    Returns:
        tuple: ``body`` (H, W) bool, and ``cue``: a list of ((H, W) bool
        mask, RGB colour) drawn over the body in order.
    """
    x, y = centre
    flip = rng.choice((-1, 1))  # which way the object faces
    cue: Parts = []
    if name in ('cat', 'dog'):
        bw, bh = size * 0.5, size * rng.uniform(0.22, 0.3)
        hx, hy, hr = x + flip * bw * 0.95, y - bh * 0.8, size * 0.17
        body = ellipse(shape, (x, y), (bw, bh)) | ellipse(
            shape, (hx, hy), (hr, hr))
        if name == 'cat':  # pointed ears, green slit eyes, pink nose
            for side in (-1, 1):
                body |= polygon(shape, [(hx + side * hr * 0.9, hy - hr * 1.5),
                                        (hx + side * hr * 0.2, hy - hr * 0.7),
                                        (hx + side * hr, hy - hr * 0.3)])
            cue += cat_face(shape, hx, hy, hr)
        else:  # floppy dark ears, round eyes, big black nose, red tongue
            for side in (-1, 1):
                ear = ellipse(shape, (hx + side * hr * 0.95, hy + hr * 0.2),
                              (hr * 0.3, hr * 0.7))
                body |= ear
                cue.append((ear, (70, 40, 25)))
            cue += dog_face(shape, hx, hy, hr)
    elif name == 'bird':
        bw, bh = size * 0.4, size * rng.uniform(0.25, 0.3)
        hx, hy, hr = x + flip * bw * 0.9, y - bh * 0.7, size * 0.12
        body = ellipse(shape, (x, y), (bw, bh)) | ellipse(
            shape, (hx, hy), (hr, hr)) | polygon(
                shape, [(x - flip * bw * 0.7, y), (x - flip * bw * 1.35,
                                                   y - bh * 0.9),
                        (x - flip * bw * 1.35, y + bh * 0.5)])
        beak = [(hx + flip * hr * 0.8, hy - hr * 0.35),
                (hx + flip * hr * 2.0, hy + hr * 0.1),
                (hx + flip * hr * 0.8, hy + hr * 0.45)]
        body |= polygon(shape, beak)
        cue.append((polygon(shape, beak), (250, 150, 0)))
        cue.append((ellipse(shape, (hx + flip * hr * 0.3, hy - hr * 0.2),
                            (hr * 0.3, hr * 0.3)), (250, 250, 250)))
        cue.append((ellipse(shape, (hx + flip * hr * 0.35, hy - hr * 0.2),
                            (hr * 0.15, hr * 0.15)), (0, 0, 0)))
    elif name == 'car':  # low body, cabin, two wheels
        bw, bh = size * 0.5, size * rng.uniform(0.14, 0.18)
        body = rect(shape, x - bw, y - bh, x + bw, y + bh) | polygon(
            shape, [(x - bw * 0.55, y - bh), (x - bw * 0.35, y - bh * 2.6),
                    (x + bw * 0.35, y - bh * 2.6), (x + bw * 0.6, y - bh)])
        for wx in (x - bw * 0.6, x + bw * 0.6):
            wr = size * 0.11
            body |= ellipse(shape, (wx, y + bh), (wr, wr))
            cue.append((ellipse(shape, (wx, y + bh), (wr, wr)), (15, 15,
                                                                 15)))
            cue.append((ellipse(shape, (wx, y + bh), (wr * .45, wr * .45)),
                        (235, 235, 245)))
    elif name == 'bus':  # tall box with a row of cyan windows
        bw, bh = size * 0.5, size * rng.uniform(0.24, 0.3)
        body = rect(shape, x - bw, y - bh, x + bw, y + bh)
        n = 5
        for i in range(n):
            wx0 = x - bw * 0.9 + i * (1.8 * bw / n)
            cue.append((rect(shape, wx0 + bw * 0.04, y - bh * 0.75,
                             wx0 + 1.8 * bw / n - bw * 0.04, y - bh * 0.35),
                        (90, 230, 240)))
    else:  # person: tall body, skin-coloured head with a face
        bw, bh = size * rng.uniform(0.16, 0.2), size * 0.55
        hr = bw * 0.75
        hx, hy = x, y - bh - hr * 0.9
        body = ellipse(shape, (x, y), (bw, bh)) | ellipse(
            shape, (hx, hy), (hr, hr * 1.15))
        cue += human_face(shape, hx, hy, hr)
    return body, cue


def _boundary_band(label: np.ndarray, width: int) -> np.ndarray:
    """Pixels within ``width`` of a change of label, (H, W) bool."""
    kernel = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    return cv2.dilate(label, kernel) != cv2.erode(label, kernel)


def scene(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A cluttered background: two materials split by a horizon, then 3 to
    8 blobs of background or body materials; (H, W, 3) float64 RGB."""
    image = texture(rng, *background(rng), (h, w))
    ground = texture(rng, *background(rng), (h, w))
    horizon = int(h * rng.uniform(0.3, 0.7))
    image[horizon:] = ground[horizon:]
    for _ in range(int(rng.integers(3, 9))):
        kind, colour = background(rng) if rng.random() < 0.75 else \
            _body_material(rng, str(rng.choice(CLASSES)))
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        axes = rng.uniform(0.04, 0.18, 2) * (w, h)
        blob = ellipse((h, w), (cx, cy), axes, rng.uniform(0, 180)) \
            if rng.random() < 0.5 else rect((h, w), cx - axes[0],
                                            cy - axes[1], cx + axes[0],
                                            cy + axes[1])
        image[blob] = texture(rng, kind, colour, (h, w))[blob]
    return image


Objects = List[Tuple[str, Tuple[int, int, int, int]]]


def make_sample(rng: np.random.Generator, scale: float = 1.0
                ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Objects]:
    """One image, its masks and its objects.

    Args:
        rng: Random generator.
        scale (float): Factor on the drawn long side (200-256 px): 1 is
            the demo's scale (and draws exactly the images of before),
            about 1.95 VOC's (a long side of 390-500 px).

    Returns:
        tuple: (H, W, 3) uint8 RGB image; (H, W) uint8 VOC-index mask with
        255 on object boundaries (VOC's ``SegmentationClass``); its coarser
        copy without the band (SBD's ``SegmentationClassAug``); and the
        (class name, VOC bounding box) of each object with pixels of its
        class left in the mask.
    """
    long_side = int(rng.integers(200, 257) * scale)
    short_side = int(long_side * rng.uniform(0.68, 0.8))
    h, w = (short_side, long_side) if rng.random() < 0.75 else (
        long_side, short_side)
    image = scene(rng, h, w)
    label = np.zeros((h, w), np.uint8)
    owner = np.full((h, w), -1)  # which object each pixel shows
    num_objects = int(rng.choice((1, 2, 3), p=(0.5, 0.3, 0.2)))
    names = []
    for i in range(num_objects):
        name = str(rng.choice(CLASSES))
        size = min(w, h) * rng.uniform(0.55, 0.9) / num_objects**0.35
        centre = (rng.uniform(0.25, 0.75) * w, rng.uniform(0.35, 0.75) * h)
        body, cue = draw_object(rng, name, (h, w), size, centre)
        image[body] = texture(rng, *_body_material(rng, name), (h, w))[body]
        for mask, colour in cue:
            image[mask] = np.array(colour, np.float32)
        label[body] = VOC_CLASSES.index(name)
        owner[body] = i
        names.append(name)
    image = cv2.GaussianBlur(image, (0, 0), 0.6)
    coarse = _coarse(label)
    label[_boundary_band(label, 1)] = 255
    objects = [(name, _bounding_box(owner == i))
               for i, name in enumerate(names)
               if (label[owner == i] == VOC_CLASSES.index(name)).any()]
    return np.clip(image + rng.normal(0, 3, image.shape), 0,
                   255).astype(np.uint8), label, coarse, objects


def _coarse(label: np.ndarray, cell: int = 4) -> np.ndarray:
    """SBD-style copy of a mask: no 255 band, outlines on a ``cell`` grid
    (SBD's polygons are coarser than VOC's pixel-accurate masks)."""
    h, w = label.shape
    small = cv2.resize(label, (-(-w // cell), -(-h // cell)),
                       interpolation=cv2.INTER_NEAREST)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def _bounding_box(mask: np.ndarray) -> Tuple[int, int, int, int]:
    """VOC's (xmin, ymin, xmax, ymax) of a mask: 1-based, inclusive."""
    ys, xs = np.nonzero(mask)
    return (int(xs.min()) + 1, int(ys.min()) + 1, int(xs.max()) + 1,
            int(ys.max()) + 1)


def save_voc_xml(path: str, size: Tuple[int, int], objects: Objects) -> None:
    """Atomically write a VOC annotation.

    Args:
        path (str): ``Annotations/<name>.xml``.
        size (tuple): (H, W) of the image.
        objects (list): (class name, (xmin, ymin, xmax, ymax)) per object,
            1-based inclusive pixel coordinates as in VOC.
    """
    name = osp.splitext(osp.basename(path))[0]
    root = ET.Element('annotation')
    ET.SubElement(root, 'folder').text = 'VOC2012'
    ET.SubElement(root, 'filename').text = name + '.jpg'
    size_el = ET.SubElement(root, 'size')
    for key, value in zip(('width', 'height', 'depth'),
                          (size[1], size[0], 3)):
        ET.SubElement(size_el, key).text = str(value)
    ET.SubElement(root, 'segmented').text = '1'
    for cls, box in objects:
        obj = ET.SubElement(root, 'object')
        ET.SubElement(obj, 'name').text = cls
        ET.SubElement(obj, 'pose').text = 'Unspecified'
        ET.SubElement(obj, 'truncated').text = '0'
        ET.SubElement(obj, 'difficult').text = '0'
        box_el = ET.SubElement(obj, 'bndbox')
        for key, value in zip(('xmin', 'ymin', 'xmax', 'ymax'), box):
            ET.SubElement(box_el, key).text = str(value)
    ET.indent(root)
    atomic_write(path, lambda tmp: ET.ElementTree(root).write(
        tmp, encoding='utf-8'))


def background(rng: np.random.Generator) -> Tuple[str, np.ndarray]:
    """A background material: texture kind and jittered (3, ) colour."""
    kind, colours = BACKGROUNDS[str(rng.choice(list(BACKGROUNDS)))]
    return kind, jitter(rng, str(rng.choice(colours)))


def _body_material(rng: np.random.Generator,
                   name: str) -> Tuple[str, np.ndarray]:
    textures, colours = BODIES[name]
    kind = rng.choice(list(textures), p=list(textures.values()))
    colour = rng.choice(list(colours), p=list(colours.values()))
    return str(kind), jitter(rng, str(colour))


# Splits as in VOC2012 + SBD: `train` and `val` have SegmentationClass masks;
# `train_aug` is `train` plus SBD-only images.
SPLIT_PREFIX = dict(train='2007', val='2008', aug='2011')
# Which `train` / `val` images SBD covers in the 'mmseg' layout (every k-th;
# SBD has masks of about 60% of VOC2012's segmentation images).
SBD_EVERY = dict(train=2, val=3)


def make_synthetic_voc(out: str, seed: int = 0, num_train: int = 200,
                       num_val: int = 100, num_aug: int = 200,
                       layout: str = 'irn', scale: float = 1.0,
                       workers: int = 1) -> Dict:
    """Write the set under ``out/VOCdevkit/VOC2012``; return the splits.

    Files already present are kept, so an interrupted run resumes; every
    file is written atomically. ``JPEGImages``, ``SegmentationClass`` and
    ``Annotations`` do not depend on the layout:

    - ``'irn'``: ``SegmentationClassAug`` for every image and
      ``train_aug.txt``, as the downloaded SBD-augmented set IRN and most
      WSSS code use;
    - ``'mmseg'``: what MMSegmentation's ``voc_aug.py`` converter writes:
      ``SegmentationClassAug`` for SBD's images only (the SBD-only ones
      and some of ``train`` and ``val``), ``trainaug.txt`` (``train`` plus
      SBD, less ``val``) and ``aug.txt`` (SBD less ``train`` and ``val``).

    Both hold ``cls_labels.json``, the image labels that
    ``tools/make_voc_labels.py`` derives from the XML. ``out/
    synthetic_voc.json`` records the settings: a folder made with others
    is refused (its files would be kept).

    Args:
        out (str): Output folder (created).
        seed (int): Data seed.
        num_train (int): Images of ``train``.
        num_val (int): Images of ``val``.
        num_aug (int): Extra images of ``train_aug`` (SBD's part).
        layout (str): ``'irn'`` or ``'mmseg'``.
        scale (float): Image scale (:func:`make_sample`).
        workers (int): Processes drawing the images (each image depends
            on its seed, split and index only, so the output is the same).

    Returns:
        dict: Split name to the list of its image names.
    """
    assert layout in ('irn', 'mmseg'), layout
    root = osp.join(out, 'VOCdevkit', 'VOC2012')
    claim_folder(out, dict(seed=seed, num_train=num_train, num_val=num_val,
                           num_aug=num_aug, layout=layout, scale=scale))
    counts = dict(train=num_train, val=num_val, aug=num_aug)
    names = {
        split: [f'{SPLIT_PREFIX[split]}_{i:06d}' for i in range(n)]
        for split, n in counts.items()
    }
    todo = []
    for split_id, split in enumerate(counts):
        for index, name in enumerate(names[split]):
            sbd = layout == 'irn' or index % SBD_EVERY.get(split, 1) == 0
            paths = dict(
                img=osp.join(root, 'JPEGImages', name + '.jpg'),
                xml=osp.join(root, 'Annotations', name + '.xml'),
                voc=osp.join(root, 'SegmentationClass', name + '.png'),
                aug=osp.join(root, 'SegmentationClassAug', name + '.png'))
            wanted = ['img', 'xml'] + (['voc'] if split != 'aug' else []) \
                + (['aug'] if sbd else [])
            if not all(osp.exists(paths[k]) for k in wanted):
                todo.append(([seed, split_id, index],
                             {k: paths[k] for k in wanted}, scale))
    if workers > 1 and len(todo) > 1:
        with Pool(min(workers, len(todo))) as pool:
            pool.map(_write_sample, todo)
    else:
        for job in todo:
            _write_sample(job)
    splits = dict(train=names['train'], val=names['val'],
                  trainval=names['train'] + names['val'])
    if layout == 'irn':
        splits['train_aug'] = names['train'] + names['aug']
    else:
        splits['trainaug'] = names['train'] + names['aug']
        splits['aug'] = names['aug']
    for split, split_names in splits.items():
        path = osp.join(root, 'ImageSets', 'Segmentation', split + '.txt')
        save_lines(split_names, path)
    write_label_file(osp.join(root, 'Annotations'),
                     sorted(set(sum(names.values(), []))), VOC_CLASSES,
                     osp.join(root, 'cls_labels.json'))
    return splits


def claim_folder(out: str, settings: Dict) -> None:
    """Record ``settings`` in OUT/synthetic_voc.json, or check that the
    set already in ``out`` was made with them.

    Raises:
        InputError: If it was made with other settings, or before they were
            recorded.
    """
    record = osp.join(out, 'synthetic_voc.json')
    if osp.isfile(record):
        with open(record) as f:
            made = json.load(f)
        if made == settings:
            return
        differ = ', '.join(f'{k} {made.get(k)} there, {v} asked'
                           for k, v in settings.items() if made.get(k) != v)
        raise InputError(f'{out} holds a synthetic set made with other '
                         f'settings ({differ}). Fix: remove the folder or '
                         'pass another --out.')
    if osp.isdir(osp.join(out, 'VOCdevkit')):
        raise InputError(f'{out} holds a synthetic set that recorded no '
                         'settings. Fix: remove the folder or pass another '
                         '--out.')
    dump_json(settings, record)


def _write_sample(job: Tuple[List[int], Dict[str, str], float]) -> None:
    """Draw one image from its ``(seed, split, index)`` and write the
    files of ``paths`` (image, XML, VOC mask and SBD mask, as wanted)."""
    entropy, paths, scale = job
    image, label, coarse, objects = make_sample(
        np.random.default_rng(entropy), scale)
    save_jpeg(image, paths['img'])
    save_voc_xml(paths['xml'], label.shape, objects)
    if 'voc' in paths:
        save_label_png(label, paths['voc'], VOC_PALETTE)
    if 'aug' in paths:  # grayscale, as SBD's converted masks
        save_label_png(coarse, paths['aug'], palette=None)
