"""VOCImageLabelDataset: labels against masks, label sources, bad input."""
import json
import os
import os.path as osp

import numpy as np
import pytest
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


VOC_XML = '''<annotation><filename>{name}.jpg</filename>
<object><name>person</name><difficult>0</difficult>
  <part><name>head</name></part><part><name>hand</name></part></object>
<object><name>dog</name><difficult>1</difficult></object>
<object><name>{third}</name><difficult>0</difficult></object>
</annotation>'''


def test_xml_labels_follow_irn(tmp_path):
    """Difficult objects count, part names do not (IRN's cls_labels)."""
    import subprocess

    from conftest import PYTHON, ROOT
    ann = tmp_path / 'Annotations'
    ann.mkdir()
    (ann / '2007_000001.xml').write_text(
        VOC_XML.format(name='2007_000001', third='person'))
    result = subprocess.run([PYTHON, 'tools/make_voc_labels.py',
                             str(tmp_path)], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    labels = json.load(open(tmp_path / 'cls_labels.json'))
    assert labels == {'2007_000001': ['dog', 'person']}
    (ann / '2007_000002.xml').write_text(
        VOC_XML.format(name='2007_000002', third='unicorn'))
    result = subprocess.run([PYTHON, 'tools/make_voc_labels.py',
                             str(tmp_path)], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {ann}/2007_000002.xml: object class 'unicorn' is not one "
        'of the configured classes. Fix: correct the file or the metainfo '
        'classes.')


@pytest.mark.parametrize('layout', ['irn', 'mmseg'])
def test_voc_config_reads_either_sbd_layout(tmp_path, layout):
    """The VOC dataset config: labels from the XML's cls_labels.json,
    train_aug.txt or trainaug.txt, train and val scored on VOC's masks."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    from conftest import CONFIGS
    from tools.dataset_converters.synthetic_voc import make_synthetic_voc
    make_synthetic_voc(str(tmp_path), 0, 12, 6, 6, layout=layout)
    root = str(tmp_path / 'VOCdevkit' / 'VOC2012')
    # training needs no mask (labels derived from them needed SBD's for
    # every train_aug image)
    os.remove(osp.join(root, 'SegmentationClassAug', '2011_000000.png'))
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(CONFIGS, '_base_', 'datasets',
                                   'voc12aug_image_label.py'))
    labels = json.load(open(osp.join(root, 'cls_labels.json')))
    sizes = {}
    for split in ('train', 'val', 'test'):
        dataset_cfg = cfg[f'{split}_dataloader'].dataset
        dataset_cfg.update(data_root=root)
        dataset = DATASETS.build(dataset_cfg)
        sizes[split] = len(dataset)
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            assert [CLASSES[k + 1] for k in np.flatnonzero(
                info['gt_score'])] == labels[info['img_name']]
            if split != 'train':  # scored against VOC's own masks
                assert info['seg_map_path'] == osp.join(
                    root, 'SegmentationClass', info['img_name'] + '.png')
    assert sizes == dict(train=18, val=6, test=12)
    sample = DATASETS.build(cfg.test_dataloader.dataset)[0]
    assert 255 in sample['data_samples'].gt_sem_seg.data  # VOC's band
