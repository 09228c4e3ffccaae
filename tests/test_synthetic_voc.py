"""The synthetic VOC generator: layout, determinism and WSSS properties."""
import hashlib
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from projects.rcm_mam.datasets import synthetic_voc as syn

SPLITS = ('train', 'val', 'trainval', 'train_aug')


def read_split(root, split):
    path = osp.join(root, 'ImageSets', 'Segmentation', split + '.txt')
    with open(path) as f:
        return f.read().split()


def generated(names):
    """Leave out the label cache that datasets write beside the masks."""
    return sorted(n for n in names if not n.endswith('_image_labels.json'))


def tree_digest(root):
    digest = hashlib.sha256()
    for folder, _, files in sorted(os.walk(root)):
        for name in generated(files):
            path = osp.join(folder, name)
            digest.update(osp.relpath(path, root).encode())
            with open(path, 'rb') as f:
                digest.update(f.read())
    return digest.hexdigest()


def test_layout(voc_root):
    assert generated(os.listdir(voc_root)) == [
        'ImageSets', 'JPEGImages', 'SegmentationClass',
        'SegmentationClassAug'
    ]
    train, val = read_split(voc_root, 'train'), read_split(voc_root, 'val')
    aug = read_split(voc_root, 'train_aug')
    assert (len(train), len(val), len(aug)) == (12, 6, 18)
    assert read_split(voc_root, 'trainval') == train + val
    assert set(train) < set(aug) and not set(aug) & set(val)
    for name in aug + val:
        assert osp.isfile(osp.join(voc_root, 'JPEGImages', name + '.jpg'))
        assert osp.isfile(
            osp.join(voc_root, 'SegmentationClassAug', name + '.png'))
    # SegmentationClass exists for train and val only, as in VOC2012
    assert sorted(os.listdir(osp.join(voc_root, 'SegmentationClass'))) == \
        sorted(n + '.png' for n in train + val)


def test_mask_formats_and_values(voc_root):
    names = read_split(voc_root, 'trainval')
    voc_ids = {syn.VOC_CLASSES.index(c) for c in syn.CLASSES}
    seen = set()
    for name in names:
        voc = Image.open(
            osp.join(voc_root, 'SegmentationClass', name + '.png'))
        aug = Image.open(
            osp.join(voc_root, 'SegmentationClassAug', name + '.png'))
        assert voc.mode == 'P' and aug.mode == 'L'  # VOC palette, SBD gray
        assert voc.getpalette()[3:6] == [128, 0, 0]  # VOC colour of class 1
        label = np.array(voc)
        np.testing.assert_array_equal(label, np.array(aug))
        image = Image.open(osp.join(voc_root, 'JPEGImages', name + '.jpg'))
        assert image.format == 'JPEG' and image.size == voc.size
        values = set(np.unique(label).tolist())
        objects = values - {0, 255}
        assert 255 in values, 'objects have a 255 boundary band'
        assert 1 <= len(objects) <= 3 and objects <= voc_ids
        seen |= objects
    assert len(seen) >= 5


def test_deterministic(tmp_path, voc_root):
    syn.make_synthetic_voc(str(tmp_path / 'a'), 0, 12, 6, 6)
    syn.make_synthetic_voc(str(tmp_path / 'b'), 1, 12, 6, 6)
    a = tree_digest(str(tmp_path / 'a' / 'VOCdevkit' / 'VOC2012'))
    assert a == tree_digest(voc_root)
    assert a != tree_digest(str(tmp_path / 'b' / 'VOCdevkit' / 'VOC2012'))


def test_images_do_not_depend_on_split_sizes(tmp_path, voc_root):
    syn.make_synthetic_voc(str(tmp_path), 0, num_train=3, num_val=1,
                           num_aug=0)
    name = '2007_000002.jpg'
    with open(osp.join(voc_root, 'JPEGImages', name), 'rb') as f, open(
            tmp_path / 'VOCdevkit/VOC2012/JPEGImages' / name, 'rb') as g:
        assert f.read() == g.read()


def test_rerun_keeps_finished_files(tmp_path):
    syn.make_synthetic_voc(str(tmp_path), 0, 2, 1, 0)
    path = tmp_path / 'VOCdevkit/VOC2012/JPEGImages/2007_000000.jpg'
    stamp = os.stat(path).st_mtime_ns
    syn.make_synthetic_voc(str(tmp_path), 0, 2, 1, 0)
    assert os.stat(path).st_mtime_ns == stamp


@pytest.mark.parametrize('name', syn.CLASSES)
def test_cue_is_small_part_of_object(name):
    """The discriminative cue covers a small part of the object."""
    rng = np.random.default_rng(0)
    body, cue = syn.draw_object(rng, name, (240, 320), 200, (160, 130))
    cue_area = np.logical_or.reduce([m for m, _ in cue]) & body
    assert 0 < cue_area.sum() < 0.3 * body.sum()


def test_bodies_share_materials():
    """Each class shares a body texture and a colour with another class."""
    for name in syn.CLASSES:
        textures, colours = syn.BODIES[name]
        others = [syn.BODIES[c] for c in syn.CLASSES if c != name]
        assert set(textures) & set().union(*(t for t, _ in others))
        assert set(colours) & set().union(*(c for _, c in others))
