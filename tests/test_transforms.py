"""The training / test pipelines of the configs and the checked loaders."""
import os.path as osp
import shutil

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, TRANSFORMS

from projects.rcm_mam.utils import InputError, save_label_png

CONFIG = osp.join(osp.dirname(__file__), '..', 'configs', 'synthetic',
                  'rcm_mam_r18_synthetic.py')


@pytest.fixture(scope='module')
def cfg():
    init_default_scope('mmseg')
    return Config.fromfile(CONFIG)


def build_dataset(cfg, loader, root):
    dataset_cfg = cfg[loader].dataset.copy()
    dataset_cfg.data_root = root
    return DATASETS.build(dataset_cfg)


def test_train_pipeline(cfg, voc_root):
    dataset = build_dataset(cfg, 'train_dataloader', voc_root)
    crop = cfg.crop_size
    sizes = set()
    for i in range(len(dataset)):
        sample = dataset[i]
        image, data_sample = sample['inputs'], sample['data_samples']
        assert image.dtype.__str__() == 'torch.uint8' and image.shape[0] == 3
        assert image.shape[1] <= crop[0] and image.shape[2] <= crop[1]
        sizes.add(tuple(image.shape[1:]))
        # the training sample holds the image label, never the mask
        assert 'gt_sem_seg' not in data_sample
        assert data_sample.gt_score.shape == (20, )
        assert data_sample.gt_score.sum() >= 1
    assert len(sizes) > 1, 'random resize and crop vary the size'


def test_train_resize_keeps_long_side_in_range(cfg):
    resize = TRANSFORMS.build(cfg.train_pipeline[1])
    long_sides = []
    for _ in range(200):
        out = resize(dict(img=np.zeros((180, 240, 3), np.uint8)))
        long_sides.append(max(out['img'].shape[:2]))
    assert 128 <= min(long_sides) and max(long_sides) <= 256
    assert max(long_sides) - min(long_sides) > 100


def test_grayscale_probability(cfg):
    gray = TRANSFORMS.build(cfg.train_pipeline[4])
    colour = np.random.default_rng(0).integers(0, 255, (4, 4, 3), np.uint8)
    hits = sum(
        np.ptp(gray(dict(img=colour.copy()))['img'], axis=2).max() == 0
        for _ in range(1000))
    assert 60 < hits < 140  # p = 0.1


def test_test_pipeline_loads_mask(cfg, voc_root):
    dataset = build_dataset(cfg, 'test_dataloader', voc_root)
    sample = dataset[0]
    mask = sample['data_samples'].gt_sem_seg.data
    assert mask.shape[1:] == sample['inputs'].shape[1:]
    fg = set(mask.unique().tolist()) - {0, 255}
    labelled = set((sample['data_samples'].gt_score.nonzero()[:, 0] +
                    1).tolist())
    assert fg == labelled


@pytest.fixture
def root(tmp_path, voc_root):
    return shutil.copytree(voc_root, str(tmp_path / 'VOC2012'))


def test_load_time_mask_check(cfg, root):
    """With a label file, masks are checked when evaluation loads them."""
    dataset_cfg = cfg.test_dataloader.dataset.copy()
    dataset_cfg.update(data_root=root, label_file='labels.json')
    names = open(osp.join(root, 'ImageSets/Segmentation/train.txt')).read()
    with open(osp.join(root, 'labels.json'), 'w') as f:
        f.write('{' + ','.join(f'"{n}": ["cat"]' for n in names.split()) +
                '}')
    path = osp.join(root, 'SegmentationClass', '2007_000000.png')
    save_label_png(np.full((8, 8), 40, np.uint8), path, palette=None)
    dataset = DATASETS.build(dataset_cfg)
    with pytest.raises(InputError, match='2007_000000.png: mask values '
                       r'\[40\] are outside'):
        dataset[0]


def test_load_time_corrupt_image(root):
    load = TRANSFORMS.build(dict(type='LoadVerifiedImageFromFile'))
    path = osp.join(root, 'JPEGImages', '2007_000000.jpg')
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:  # valid markers, garbage in between
        f.write(data[:2] + b'\x00' * 100 + data[-2:])
    with pytest.raises(InputError, match='2007_000000.jpg: corrupt image'):
        load(dict(img_path=path))


@pytest.mark.parametrize('backend', ['pillow', 'cv2'])
def test_hue_shift_is_mmcvs_and_runs_under_numpy_2(backend):
    """mmcv 2.1.0's adjust_hue takes np.uint8 of a negative shift, which
    numpy 2 refuses; the project's (in mmcv.adjust_hue, where mmpretrain's
    ColorJitter calls it, under numpy 2 only) gives mmcv's images under
    numpy 1, bit for bit."""
    import mmcv
    from mmcv.image import photometric

    from projects.rcm_mam.utils import hue_shift
    hue_shift.use_hue_shift()  # as tools/train.py
    numpy_2 = int(np.__version__.split('.')[0]) >= 2
    assert (mmcv.adjust_hue is hue_shift.adjust_hue) == numpy_2
    image = np.random.default_rng(0).integers(0, 256, (24, 32, 3), np.uint8)
    for factor in np.linspace(-0.5, 0.5, 41):
        expected = photometric.adjust_hue(image, factor, backend) if \
            not numpy_2 else None  # mmcv's own fails on numpy 2
        shifted = hue_shift.adjust_hue(image, factor, backend)
        assert shifted.dtype == np.uint8 and shifted.flags.writeable
        if expected is not None:
            assert np.array_equal(shifted, expected), factor
    jitter = TRANSFORMS.build(dict(type='mmpretrain.ColorJitter', hue=0.5,
                                   backend=backend))
    for _ in range(20):
        assert jitter(dict(img=image.copy()))['img'].shape == image.shape
