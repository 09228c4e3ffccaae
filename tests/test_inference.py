"""The inference API: mmseg's init_model and inference_model, and the
project's CAMInferencer (MMSegInferencer's), on every stage-1 and stage-2
config; the model's own labels for an image without one; inference_cams
with given labels (the mask tools/make_pseudo_labels.py writes); and
tools/cam_demo.py."""
import glob
import os.path as osp
import subprocess

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmseg.apis import MMSegInferencer, inference_model, init_model
from mmseg.registry import MODELS

from conftest import CONFIGS, PYTHON, ROOT, build_dataset, tiny_config
from projects.rcm_mam.apis import CAMInferencer, inference_cams
from projects.rcm_mam.utils import InputError, read_label_png

STAGE1 = sorted(p for p in glob.glob(osp.join(CONFIGS, '**', '*.py'),
                                     recursive=True)
                if '_base_' not in p and 'pretrain' not in p and
                Config.fromfile(p).model.type == 'MainSupportCAMNet')
STAGE2 = sorted(glob.glob(osp.join(CONFIGS, '**', 'deeplabv3_*.py'),
                          recursive=True))
SINGLE_SCALE = dict(scales=(1.0, ), flip=False, bg_threshold=0.3)


@pytest.fixture(scope='module')
def trained(voc_root, tmp_path_factory):
    """A 2-iteration CAM model of tools/train.py and the masks of
    tools/make_pseudo_labels.py --no-crf: (config, checkpoint, mask
    folder)."""
    tmp = tmp_path_factory.mktemp('inference')
    config = tiny_config(tmp / 'cfg.py', voc_root,
                         'synthetic/cam_r18_synthetic.py', iters=2,
                         extra=f'model.update(test_cfg={SINGLE_SCALE})')
    for tool, args in (('train', []), ('make_pseudo_labels',
                                       [str(tmp / 'iter_2.pth'), '--no-crf'])):
        result = subprocess.run(
            [PYTHON, f'tools/{tool}.py', config, *args, '--work-dir',
             str(tmp)], cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-3000:]
    return config, str(tmp / 'iter_2.pth'), str(tmp / 'pseudo_labels')


def check_prediction(sample, num_classes: int, shape) -> None:
    assert sample.seg_logits.data.shape == (num_classes + 1, *shape)
    assert sample.pred_sem_seg.data.shape == (1, *shape)
    assert sample.pred_score.shape == (num_classes, )
    used = sample.pred_label.tolist()
    assert used and set(sample.pred_sem_seg.data.unique().tolist()) <= {
        0, *(k + 1 for k in used)}


@pytest.mark.parametrize('config', STAGE1, ids=osp.basename)
def test_mmseg_entry_points_on_every_cam_config(config):
    model = init_model(config, device='cpu')
    model.test_cfg.update(SINGLE_SCALE)
    image = np.random.default_rng(0).integers(0, 255, (40, 56, 3), np.uint8)
    sample = inference_model(model, image)
    num_classes = model.main_net.classifier.out_channels
    check_prediction(sample, num_classes, (40, 56))
    assert sample.metainfo['labels_from'] == 'classifier'
    # the classes above 0.5, the top one at least
    expected = set(torch.nonzero(sample.pred_score > 0.5)[:, 0].tolist())
    expected.add(int(sample.pred_score.argmax()))
    assert set(sample.pred_label.tolist()) == expected
    inferencer = CAMInferencer(model=config, device='cpu')
    inferencer.model.test_cfg.update(SINGLE_SCALE)
    inferred = inferencer(image, return_datasamples=True)
    assert inferred.metainfo['labels_from'] == 'classifier'
    assert inferred.seg_logits.data.shape == sample.seg_logits.data.shape


@pytest.mark.parametrize('config', STAGE2, ids=osp.basename)
def test_mmseg_entry_points_on_every_stage2_config(config, voc_root):
    model = init_model(config, device='cpu')
    path = build_dataset(voc_root).get_data_info(0)['img_path']
    sample = inference_model(model, path)
    assert sample.pred_sem_seg.data.shape[1:] == mmcv.imread(path).shape[:2]
    inferred = CAMInferencer(model=config, device='cpu')(
        path, return_datasamples=True)
    assert inferred.pred_sem_seg.data.shape == sample.pred_sem_seg.data.shape


def test_given_labels_give_the_tools_masks(trained, voc_root):
    config, checkpoint, masks = trained
    model = init_model(config, checkpoint, device='cpu')
    classes = model.dataset_meta['classes']
    dataset = build_dataset(voc_root, 'train_aug')
    for i in (0, 3):
        info = dataset.get_data_info(i)
        names = [classes[k + 1] for k in np.flatnonzero(info['gt_score'])]
        sample = inference_cams(model, info['img_path'], names)
        assert sample.metainfo['labels_from'] == 'given'
        np.testing.assert_array_equal(
            sample.pred_sem_seg.data[0].numpy(),
            read_label_png(osp.join(masks, info['img_name'] + '.png')))
        # a BGR array gives the same as its file; a list gives a list
        (array, ) = inference_cams(model, [mmcv.imread(info['img_path'])],
                                   names)
        torch.testing.assert_close(array.seg_logits.data,
                                   sample.seg_logits.data)


def test_labels_from_the_classifier_without_labels(trained, voc_root):
    config, checkpoint, _ = trained
    model = init_model(config, checkpoint, device='cpu')
    path = build_dataset(voc_root).get_data_info(1)['img_path']
    sample = inference_cams(model, path)
    num_classes = model.main_net.classifier.out_channels
    check_prediction(sample, num_classes, mmcv.imread(path).shape[:2])
    assert sample.metainfo['labels_from'] == 'classifier'
    # every class the classifier names has its CAM, the others none
    scores = sample.seg_logits.data[1:]
    absent = [k for k in range(num_classes)
              if k not in sample.pred_label.tolist()]
    assert torch.all(scores[absent] == 0)
    # ... as inference_model gives
    same = inference_model(model, path)
    torch.testing.assert_close(same.seg_logits.data, sample.seg_logits.data)
    with pytest.raises(InputError, match="'unicorn' is not a class"):
        inference_cams(model, path, ['cat', 'unicorn'])


def test_inference_only_model_refuses_to_train():
    cfg = Config.fromfile(osp.join(CONFIGS, 'synthetic',
                                   'cam_r18_synthetic.py'))
    model = MODELS.build(dict(cfg.model, train_cfg=None))
    with pytest.raises(InputError, match='without train_cfg'):
        model.loss(torch.zeros(1, 3, 32, 32), [])
    with pytest.raises(InputError, match='model.pretrained'):
        MODELS.build(dict(cfg.model, pretrained='r50.pth'))


def test_cam_demo(trained, voc_root, tmp_path):
    config, checkpoint, _ = trained
    images = osp.join(voc_root, 'JPEGImages')
    result = subprocess.run(
        [PYTHON, 'tools/cam_demo.py', images, config, checkpoint, '--out',
         str(tmp_path / 'out'), '--labels', 'cat,dog'], cwd=ROOT,
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    names = sorted(glob.glob(osp.join(images, '*.jpg')))
    lines = [line for line in result.stdout.splitlines()
             if line.startswith(images)]
    assert len(lines) == len(names)
    assert lines[0].startswith(names[0]) and lines[0].endswith('(given)')
    assert ' cat ' in lines[0] and ' dog ' in lines[0]
    first = mmcv.imread(names[0])
    picture = mmcv.imread(str(tmp_path / 'out' / (
        osp.splitext(osp.basename(names[0]))[0] + '.png')))
    # the image, the 2 classes' heat maps and the mask side by side
    assert picture.shape == (first.shape[0], first.shape[1] * 4, 3)
    result = subprocess.run(
        [PYTHON, 'tools/cam_demo.py', str(tmp_path / 'none.jpg'), config,
         checkpoint], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f'error: {tmp_path}/none.jpg: no such image or folder. Fix: give '
        'the path of an image or of a folder of images.']


def test_inferencer(trained, voc_root):
    config, checkpoint, _ = trained
    path = build_dataset(voc_root).get_data_info(2)['img_path']
    with pytest.raises(ValueError, match='LoadImageFromFile is not found'):
        MMSegInferencer(model=config, weights=checkpoint, device='cpu')
    inferencer = CAMInferencer(model=config, weights=checkpoint,
                               device='cpu')
    result = inferencer(path, return_datasamples=True)
    expected = inference_cams(init_model(config, checkpoint, 'cpu'), path)
    torch.testing.assert_close(result.seg_logits.data,
                               expected.seg_logits.data)
    assert result.metainfo['labels_from'] == 'classifier'
    # mmseg's result dict: the mask
    mask = inferencer(path)['predictions']
    np.testing.assert_array_equal(mask, expected.pred_sem_seg.data[0])


def test_published_checkpoint_names_its_classes(trained, voc_root, tmp_path):
    """tools/publish_checkpoint.py keeps the class names and palette that
    init_model reads, in a file torch loads weights-only."""
    config, checkpoint, _ = trained
    result = subprocess.run(
        [PYTHON, 'tools/publish_checkpoint.py', checkpoint, str(tmp_path),
         '--name', 'cam'], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    (published, ) = glob.glob(str(tmp_path / 'cam-*.pth'))
    meta = torch.load(published, weights_only=True)['meta']['dataset_meta']
    model = init_model(config, published, device='cpu')
    assert model.dataset_meta['classes'] == meta['classes']
    assert meta['classes'][0] == 'background'
    path = build_dataset(voc_root).get_data_info(0)['img_path']
    expected = inference_cams(init_model(config, checkpoint, 'cpu'), path)
    torch.testing.assert_close(inference_cams(model, path).seg_logits.data,
                               expected.seg_logits.data, atol=1e-2, rtol=0)
