"""The synthetic VOC generator: layout, determinism and WSSS properties."""
import hashlib
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from projects.rcm_mam.utils.errors import InputError
from tools.dataset_converters import synthetic_voc as syn

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


def folder_digest(folder):
    digest = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        digest.update(name.encode())
        with open(osp.join(folder, name), 'rb') as f:
            digest.update(f.read())
    return digest.hexdigest()


def test_layout(voc_root):
    assert generated(os.listdir(voc_root)) == [
        'Annotations', 'ImageSets', 'JPEGImages', 'SegmentationClass',
        'SegmentationClassAug', 'cls_labels.json'
    ]
    train, val = read_split(voc_root, 'train'), read_split(voc_root, 'val')
    aug = read_split(voc_root, 'train_aug')
    assert (len(train), len(val), len(aug)) == (12, 6, 18)
    assert read_split(voc_root, 'trainval') == train + val
    assert set(train) < set(aug) and not set(aug) & set(val)
    for name in aug + val:
        for folder, ext in (('JPEGImages', '.jpg'), ('Annotations', '.xml'),
                            ('SegmentationClassAug', '.png')):
            assert osp.isfile(osp.join(voc_root, folder, name + ext))
    # SegmentationClass exists for train and val only, as in VOC2012
    assert sorted(os.listdir(osp.join(voc_root, 'SegmentationClass'))) == \
        sorted(n + '.png' for n in train + val)


def test_mmseg_converter_layout(tmp_path, voc_root):
    """What mmseg's voc_aug.py writes: trainaug.txt, aug.txt, SBD's masks
    for a subset only; images, VOC masks and XML as in the IRN layout."""
    splits = syn.make_synthetic_voc(str(tmp_path), 0, 12, 6, 6,
                                    layout='mmseg')
    root = tmp_path / 'VOCdevkit' / 'VOC2012'
    names = sorted(os.listdir(root / 'ImageSets' / 'Segmentation'))
    assert names == ['aug.txt', 'train.txt', 'trainaug.txt', 'trainval.txt',
                     'val.txt']
    train = read_split(root, 'train')
    assert read_split(root, 'trainaug') == train + read_split(root, 'aug')
    assert len(read_split(root, 'aug')) == 6 and splits['aug'][0] == \
        '2011_000000'
    sbd = {n[:-4] for n in os.listdir(root / 'SegmentationClassAug')}
    assert set(read_split(root, 'aug')) < sbd
    assert sbd & set(train) and set(train) - sbd  # some of train only
    assert sbd & set(read_split(root, 'val'))
    for folder in ('JPEGImages', 'SegmentationClass', 'Annotations'):
        assert folder_digest(root / folder) == folder_digest(
            osp.join(voc_root, folder)), folder


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
        label, coarse = np.array(voc), np.array(aug)
        image = Image.open(osp.join(voc_root, 'JPEGImages', name + '.jpg'))
        assert image.format == 'JPEG' and image.size == voc.size == aug.size
        values = set(np.unique(label).tolist())
        objects = values - {0, 255}
        assert 255 in values, 'objects have a 255 boundary band'
        assert 1 <= len(objects) <= 3 and objects <= voc_ids
        # SBD's copy: coarser, no band, the same classes
        assert set(np.unique(coarse).tolist()) == objects | {0}
        band = label == 255
        assert (coarse[~band] != label[~band]).any()
        seen |= objects
    assert len(seen) >= 5


def test_xml_labels_agree_with_the_masks(voc_root):
    labels = json.load(open(osp.join(voc_root, 'cls_labels.json')))
    names = read_split(voc_root, 'train_aug') + read_split(voc_root, 'val')
    assert sorted(labels) == sorted(names)
    for name in names:
        for folder in ('SegmentationClass', 'SegmentationClassAug'):
            path = osp.join(voc_root, folder, name + '.png')
            if osp.isfile(path):
                present = {syn.VOC_CLASSES[v]
                           for v in np.unique(np.array(Image.open(path)))
                           if 0 < v < 255}
                assert sorted(present) == labels[name], (name, folder)


def test_jpegs_and_voc_masks_are_those_of_before(voc_root):
    """The images and VOC masks of seed 0 as the generator first wrote
    them (before XML and the coarse SBD copy were added)."""
    assert folder_digest(osp.join(voc_root, 'JPEGImages')) == \
        '495b85d8c45c70b873adf3b8d7b4eceaf68c5b9701ba02fc49f9373b8cb639f2'
    assert folder_digest(osp.join(voc_root, 'SegmentationClass')) == \
        '4aad929bde287ea94ad12b5f065f59c13103baf55dcc930715f3af0bc89c5d93'


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


def test_a_folder_of_other_settings_is_refused(tmp_path):
    syn.make_synthetic_voc(str(tmp_path), 0, 2, 1, 0)
    with pytest.raises(InputError, match=f'{tmp_path} holds a synthetic set '
                       r'made with other settings \(seed 0 there, 1 asked, '
                       r'num_val 1 there, 2 asked\). Fix: remove the folder'):
        syn.make_synthetic_voc(str(tmp_path), 1, 2, 2, 0)
    os.remove(tmp_path / 'synthetic_voc.json')  # made before the record
    with pytest.raises(InputError, match='recorded no settings'):
        syn.make_synthetic_voc(str(tmp_path), 0, 2, 1, 0)


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


def test_workers_write_the_same_files(tmp_path, voc_root):
    """Drawn in 2 processes, each file is the one the session's set has."""
    syn.make_synthetic_voc(str(tmp_path), 0, 3, 1, 2, workers=2)
    root = tmp_path / 'VOCdevkit' / 'VOC2012'
    for folder in ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug',
                   'Annotations'):
        names = os.listdir(root / folder)
        assert len(names) == (4 if folder == 'SegmentationClass' else 6)
        for name in names:
            with open(root / folder / name, 'rb') as f, open(
                    osp.join(voc_root, folder, name), 'rb') as g:
                assert f.read() == g.read(), (folder, name)


def test_scale_draws_voc_sized_images(tmp_path):
    """--scale 1.95 gives VOC's long side (390-500 px) with valid masks;
    the default scale draws the images of scale 1."""
    rng = np.random.default_rng([0, 0, 0])
    assert syn.make_sample(rng, 1.0)[0].tobytes() == syn.make_sample(
        np.random.default_rng([0, 0, 0]))[0].tobytes()
    syn.make_synthetic_voc(str(tmp_path), 0, 2, 1, 1, scale=1.95)
    root = tmp_path / 'VOCdevkit' / 'VOC2012'
    labels = json.load(open(root / 'cls_labels.json'))
    for name in read_split(root, 'train_aug') + read_split(root, 'val'):
        image = Image.open(root / 'JPEGImages' / f'{name}.jpg')
        assert 390 <= max(image.size) <= 500, image.size
        mask = np.array(Image.open(root / 'SegmentationClassAug' /
                                   f'{name}.png'))
        assert mask.shape == image.size[::-1]
        present = {syn.VOC_CLASSES[v] for v in np.unique(mask) if v}
        assert sorted(present) == labels[name]
