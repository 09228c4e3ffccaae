"""VOCImageLabelDataset: labels against masks, label sources, bad input."""
import json
import os
import os.path as osp

import numpy as np
from PIL import Image

from conftest import build_dataset as build
from projects.rcm_mam.datasets import VOCImageLabelDataset
from projects.rcm_mam.utils import save_label_png

CLASSES = VOCImageLabelDataset.METAINFO['classes']


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
    cache = osp.join(root, 'SegmentationClassAug_image_labels.json')
    if osp.isfile(cache):  # written by an earlier test's dataset
        os.remove(cache)
    build(root)
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
