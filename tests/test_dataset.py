"""VOCImageLabelDataset: labels against masks, label sources, bad input."""
import json
import logging
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from PIL import Image

from projects.rcm_mam.datasets import VOCImageLabelDataset, voc_image_label
from projects.rcm_mam.utils import InputError, save_label_png

CLASSES = VOCImageLabelDataset.METAINFO['classes']


@pytest.fixture
def root(tmp_path, voc_root) -> str:
    """A private, writable copy of the synthetic set."""
    return shutil.copytree(voc_root, str(tmp_path / 'VOC2012'))


def build(root, split='train', **kwargs):
    return VOCImageLabelDataset(
        data_root=root, ann_file=f'ImageSets/Segmentation/{split}.txt',
        **kwargs)


def mask_classes(path):
    values = np.unique(np.array(Image.open(path)))
    return {CLASSES[v] for v in values if 0 < v < 255}


def test_labels_match_masks(root):
    dataset = build(root, 'train_aug')
    assert len(dataset) == 18
    for info in dataset:
        name = osp.basename(info['img_path'])[:-4]
        assert info['img_name'] == name
        assert info['gt_score'].shape == (20, )
        labelled = {CLASSES[i + 1] for i in np.flatnonzero(info['gt_score'])}
        assert labelled == mask_classes(info['seg_map_path'])


def test_label_cache_is_written_and_refreshed(root):
    build(root)
    cache = osp.join(root, 'SegmentationClassAug_image_labels.json')
    with open(cache) as f:
        entries = json.load(f)
    assert len(entries) == 12
    # a changed mask is read again: make image 0 all background + person
    name = '2007_000000'
    path = osp.join(root, 'SegmentationClassAug', name + '.png')
    label = np.zeros((20, 30), np.uint8)
    label[5:10, 5:10] = CLASSES.index('person')
    save_label_png(label, path, palette=None)
    first = next(i for i in build(root) if i['img_name'] == name)
    assert list(np.flatnonzero(first['gt_score'])) == [14]


def test_label_file_json_and_irn_npy(root):
    names = open(osp.join(root, 'ImageSets/Segmentation/train.txt')).read()
    names = names.split()
    table = {n: ['dog'] for n in names}
    with open(osp.join(root, 'labels.json'), 'w') as f:
        json.dump(table, f)
    dataset = build(root, label_file='labels.json')
    assert all(list(np.flatnonzero(i['gt_score'])) == [11] for i in dataset)
    # IRN's cls_labels.npy uses integer names (2007_000032 -> 2007000032)
    onehot = np.eye(20, dtype=np.float32)[6]
    np.save(osp.join(root, 'cls.npy'),
            {int(n.replace('_', '')): onehot for n in names})
    dataset = build(root, label_file='cls.npy')
    assert all(list(np.flatnonzero(i['gt_score'])) == [6] for i in dataset)


def test_custom_class_list(tmp_path):
    """Any class list: masks indexed by it, labels over classes[1:]."""
    for folder in ('img', 'ann'):
        os.makedirs(tmp_path / folder)
    for i in range(3):
        Image.fromarray(np.full((8, 8, 3), 99, np.uint8)).save(
            tmp_path / 'img' / f'a{i}.jpg')
        label = np.zeros((8, 8), np.uint8)
        label[:2, :2] = i + 1
        save_label_png(label, str(tmp_path / 'ann' / f'a{i}.png'))
    (tmp_path / 'split.txt').write_text('a0\na1\na2\n')
    dataset = VOCImageLabelDataset(
        data_root=str(tmp_path), ann_file='split.txt',
        data_prefix=dict(img_path='img', seg_map_path='ann'),
        metainfo=dict(classes=('bg', 'road', 'tree', 'sign')))
    assert [list(np.flatnonzero(i['gt_score'])) for i in dataset] == [[0],
                                                                      [1],
                                                                      [2]]
    assert len(dataset.metainfo['palette']) == 4


def test_image_without_foreground_is_skipped_with_warning(root, monkeypatch):
    logged = []
    monkeypatch.setattr(voc_image_label, 'print_log',
                        lambda msg, **kwargs: logged.append((msg, kwargs)))
    name = '2007_000003'
    path = osp.join(root, 'SegmentationClassAug', name + '.png')
    save_label_png(np.zeros((10, 10), np.uint8), path, palette=None)
    dataset = build(root)
    assert len(dataset) == 11
    assert name not in [i['img_name'] for i in dataset]
    (message, kwargs), = logged
    assert 'skipped 1 images with no foreground class' in message
    assert name in message and kwargs['level'] == logging.WARNING


def error_of(root, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        build(root, **kwargs)
    return str(info.value)


def test_missing_data_root(tmp_path):
    message = error_of(str(tmp_path / 'nowhere'))
    assert 'nowhere: data_root does not exist' in message
    assert 'make_synthetic_voc' in message


def test_missing_split_file(root):
    message = error_of(root, split='train_ag')
    assert 'train_ag.txt: split file not found' in message


def test_missing_image(root):
    os.remove(osp.join(root, 'JPEGImages', '2007_000004.jpg'))
    message = error_of(root)
    assert '2007_000004.jpg: image listed in the split file does not ' \
        'exist' in message


@pytest.mark.parametrize('content,reason', [
    (b'', 'empty image file'),
    (b'GIF89a garbage', 'not a JPEG file'),
    ('truncate', 'truncated JPEG'),
])
def test_corrupt_jpeg(root, content, reason):
    path = osp.join(root, 'JPEGImages', '2007_000005.jpg')
    if content == 'truncate':
        content = open(path, 'rb').read()[:500]
    with open(path, 'wb') as f:
        f.write(content)
    message = error_of(root)
    assert f'2007_000005.jpg: {reason}' in message


def test_mask_value_out_of_range(root):
    path = osp.join(root, 'SegmentationClassAug', '2007_000006.png')
    label = np.zeros((10, 10), np.uint8)
    label[0, 0] = 21
    save_label_png(label, path, palette=None)
    message = error_of(root)
    assert '2007_000006.png: mask values [21] are outside the 21 classes' \
        in message


def test_truncated_mask(root):
    path = osp.join(root, 'SegmentationClassAug', '2007_000007.png')
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    assert '2007_000007.png: unreadable mask' in error_of(root)


@pytest.mark.parametrize('bad', ['../escape', '/etc/passwd', 'a/../../b'])
def test_unsafe_names_are_rejected(root, bad):
    with open(osp.join(root, 'ImageSets/Segmentation/train.txt'), 'a') as f:
        f.write(bad + '\n')
    assert 'is not a plain relative name' in error_of(root)
