"""PseudoLabelHook: correct masks, resume, sharding, CRF; the CLI tool."""
import json
import os
import os.path as osp
import shutil
import subprocess
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from PIL import Image

from conftest import CONFIGS, PYTHON, ROOT, tiny_config
from projects.rcm_mam.engine import PseudoLabelHook, pseudo_label_hook
from projects.rcm_mam.evaluation.cam_iou_metric import class_iou, iou_stats
from projects.rcm_mam.models.pseudo_mask import threshold_mask
from projects.rcm_mam.utils import InputError, read_label_png
from projects.rcm_mam.utils.visualization import cam_overlay

CONFIG = osp.join(CONFIGS, 'synthetic', 'rcm_mam_r18_synthetic.py')


@pytest.fixture(scope='module')
def runner(voc_root, tmp_path_factory):
    """A stand-in for MMEngine's Runner: config, model and work dir."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(CONFIG)
    cfg.test_dataloader.dataset.data_root = voc_root
    cfg.model.test_cfg = dict(scales=(1.0, ), flip=False, bg_threshold=0.3)
    model = MODELS.build(cfg.model)
    model.init_weights()
    work_dir = str(tmp_path_factory.mktemp('work'))
    return SimpleNamespace(cfg=cfg, model=model, work_dir=work_dir)


def written(folder):
    return sorted(f for f in os.listdir(folder)
                  if f.endswith('.png') and not f.startswith('.'))


def test_hook_writes_correct_masks(runner, voc_root):
    hook = PseudoLabelHook(num_workers=0, num_overlays=2, save_cams=True)
    summary = hook.generate(runner)
    out = osp.join(runner.work_dir, 'pseudo_labels')
    names = open(osp.join(voc_root, 'ImageSets/Segmentation/train_aug.txt'))
    names = names.read().split()
    assert written(out) == sorted(n + '.png' for n in names)
    dataset = hook._build_dataset(runner, hook.ann_file)
    for i in (0, 5):
        info = dataset.get_data_info(i)
        mask = Image.open(osp.join(out, info['img_name'] + '.png'))
        assert mask.mode == 'P' and mask.getpalette()[3:6] == [128, 0, 0]
        assert mask.size == Image.open(info['img_path']).size
        with torch.no_grad():
            sample = runner.model.test_step(
                pseudo_label_hook.pseudo_collate([dataset[i]]))[0]
        expected = threshold_mask(sample.seg_logits.data[1:].numpy(), 0.3)
        np.testing.assert_array_equal(np.array(mask), expected)
        labelled = set(np.flatnonzero(info['gt_score']) + 1)
        assert set(np.unique(expected)) <= {0} | labelled
        cams = np.load(osp.join(out, info['img_name'] + '.npy'),
                       allow_pickle=True).item()
        assert cams['cam'].dtype == np.float16
        assert sorted(cams['keys'] + 1) == sorted(labelled)
    assert len(os.listdir(osp.join(runner.work_dir, 'cam_overlays'))) == 2
    assert summary['images'] == 12 and 0 <= summary['mIoU'] <= 100
    assert summary['bg_threshold'] == 0.3  # the model's, as used
    assert osp.isfile(out + '.json')


def test_cam_overlay_panels():
    """The image, a heat map per labelled class (JET half over the image),
    the mask in its palette; each panel after the image named at its top."""
    h, w = 48, 60
    bgr = np.random.default_rng(0).integers(0, 256, (h, w, 3), np.uint8)
    image = bgr[..., ::-1]  # a reversed view, as the hook's
    scores = np.zeros((3, h, w), np.float32)
    scores[1, :, w // 3:] = 0.5  # class 2 labelled: 0, 0.5 and 1 in thirds
    scores[1, :, 2 * w // 3:] = 1.0
    mask = np.zeros((h, w), np.uint8)
    mask[:, w // 2:] = 2
    palette = [(0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0)]
    overlay = cam_overlay(image, scores, [2], mask,
                          ('background', 'a', 'b', 'c'), palette)
    assert overlay.shape == (h, 3 * w, 3) and overlay.dtype == np.uint8
    jet = cv2.applyColorMap((scores[1] * 255).astype(np.uint8),
                            cv2.COLORMAP_JET)[..., ::-1]
    expected = np.concatenate([
        image, cv2.addWeighted(image, 0.5, jet, 0.5, 0),
        np.array(palette, np.uint8)[mask]], axis=1)
    band = 16  # the names are drawn above this row
    np.testing.assert_array_equal(overlay[band:], expected[band:])
    np.testing.assert_array_equal(overlay[:, :w], image)  # no name
    for panel in (1, 2):
        cols = slice(panel * w, (panel + 1) * w)
        assert (overlay[:band, cols] != expected[:band, cols]).any()


def test_partial_run_resumes_without_rewriting(runner):
    out = osp.join(runner.work_dir, 'resume')
    hook = PseudoLabelHook(out_dir='resume', num_workers=0, num_overlays=0,
                           eval_ann_file=None)
    hook.generate(runner)
    files = written(out)
    stamps = {f: os.stat(osp.join(out, f)).st_mtime_ns for f in files}
    # a killed run: files missing, one truncated, a temporary file left
    for f in files[:3]:
        os.remove(osp.join(out, f))
    with open(osp.join(out, files[3]), 'r+b') as f:
        f.truncate(40)
    open(osp.join(out, '.2007_000009.abc.tmp.png'), 'w').close()
    hook.generate(runner)
    assert written(out) == files
    rewritten = {f for f in files
                 if os.stat(osp.join(out, f)).st_mtime_ns != stamps[f]}
    assert rewritten == set(files[:4])
    for f in files:
        Image.open(osp.join(out, f)).load()  # every file decodes


def test_ranks_share_the_images_exactly_once(runner, monkeypatch):
    seen = []
    hook = PseudoLabelHook(out_dir='sharded', num_workers=0, num_overlays=0,
                           eval_ann_file=None)
    for rank in (0, 1):
        monkeypatch.setattr(pseudo_label_hook, 'get_dist_info',
                            lambda r=rank: (r, 2))
        before = set(written(osp.join(runner.work_dir, 'sharded'))) \
            if rank else set()
        hook.generate(runner)
        now = set(written(osp.join(runner.work_dir, 'sharded')))
        seen.append(now - before)
    assert not seen[0] & seen[1]
    assert len(seen[0]) == 9 and len(seen[1]) == 9


def image_scores(runner, dataset, index: int) -> tuple:
    """Image ``index`` of ``dataset``: its data info, (H, W, 3) RGB pixels,
    the CAM model's (C, H, W) class scores and its label values."""
    info = dataset.get_data_info(index)
    with torch.no_grad():
        sample = runner.model.test_step(
            pseudo_label_hook.pseudo_collate([dataset[index]]))[0]
    image = np.array(Image.open(info['img_path']).convert('RGB'))
    return (info, image, sample.seg_logits.data[1:].numpy(),
            np.flatnonzero(info['gt_score']) + 1)


def test_crf_masks_are_the_refined_scores(runner):
    from projects.rcm_mam.models.pseudo_mask import crf_refine
    hook = PseudoLabelHook(out_dir='crf', crf=dict(), num_workers=0,
                           num_overlays=0)
    summary = hook.generate(runner)
    assert summary['crf'] and summary['bg_threshold'] == 0.3
    out = osp.join(runner.work_dir, 'crf')
    dataset = hook._build_dataset(runner, hook.ann_file)
    changed = 0
    for i in (0, 5):
        info, image, scores, keys = image_scores(runner, dataset, i)
        expected = crf_refine(image, scores, 0.3, keys)
        mask = np.array(Image.open(osp.join(out, info['img_name'] + '.png')))
        np.testing.assert_array_equal(mask, expected)
        changed += (expected != threshold_mask(scores, 0.3)).any()
    assert changed  # CRF moved some pixels
    # the reported mIoU is that of the written masks against train's
    root = runner.cfg.test_dataloader.dataset.data_root
    names = open(osp.join(root, 'ImageSets/Segmentation/train.txt')).read()
    stats = sum(iou_stats(
        read_label_png(osp.join(out, name + '.png')),
        read_label_png(osp.join(root, 'SegmentationClass', name + '.png')),
        21, 255) for name in names.split())
    assert summary['mIoU'] == pytest.approx(
        np.nanmean(class_iou(stats)) * 100, abs=0.01)


@pytest.fixture(scope='module')
def confident_hook(runner):
    """The confident labels and CAMs of train_aug, in WORK_DIR/ir."""
    hook = PseudoLabelHook(out_dir='ir', confident=dict(), save_cams=True,
                           num_workers=0, num_overlays=0)
    assert hook.generate(runner) is None  # confident labels are not scored
    return hook


def test_confident_labels_are_irns(runner, confident_hook):
    from projects.rcm_mam.models.pseudo_mask import (IRN_LABEL_CRF,
                                                     confident_labels)
    hook = confident_hook
    out = osp.join(runner.work_dir, 'ir')
    record = json.load(open(osp.join(out, 'generation.json')))
    assert record['settings']['confident'] == dict(
        fg_threshold=0.3, bg_threshold=0.05, crf=IRN_LABEL_CRF)
    dataset = hook._build_dataset(runner, hook.ann_file)
    unknown = 0
    for i in (0, 5):
        info, image, scores, keys = image_scores(runner, dataset, i)
        labels = np.array(Image.open(osp.join(out, info['img_name'] +
                                              '.png')))
        np.testing.assert_array_equal(
            labels, confident_labels(image, scores, keys))
        unknown += (labels == 255).sum()
        assert osp.exists(osp.join(out, info['img_name'] + '.npy'))
    assert unknown
    with pytest.raises(InputError, match='both crf and confident'):
        PseudoLabelHook(crf=dict(), confident=dict())


def test_walk_masks_are_the_refined_cams(runner, confident_hook):
    from projects.rcm_mam.engine import RandomWalkLabelHook
    from projects.rcm_mam.models.random_walk import refine_cams, strided
    cfg = Config.fromfile(osp.join(CONFIGS, 'synthetic',
                                   'irn_r18_synthetic.py'))
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    irn = SimpleNamespace(
        cfg=Config(dict(model=cfg.model,
                        walk_dataset=runner.cfg.test_dataloader.dataset)),
        model=MODELS.build(cfg.model), work_dir=runner.work_dir)
    cam_dir = osp.join(runner.work_dir, 'ir')
    hook = RandomWalkLabelHook(cam_dir=cam_dir, steps=8, num_workers=0)
    summary = hook.generate(irn)
    assert summary['bg_threshold'] == 0.25
    dataset = hook._build_dataset(irn, hook.ann_file)
    info = dataset.get_data_info(3)
    keys = np.flatnonzero(info['gt_score']) + 1
    saved = np.load(osp.join(cam_dir, info['img_name'] + '.npy'),
                    allow_pickle=True).item()
    cams = torch.from_numpy(saved['cam'].astype(np.float32))
    batch = pseudo_label_hook.pseudo_collate([dataset[3]])
    with torch.no_grad():
        boundary = irn.model.boundary(
            irn.model.data_preprocessor(batch, False)['inputs'])
        scores = refine_cams(strided(cams, boundary.shape), boundary,
                             cams.shape[1:], steps=8)
    full = np.zeros((20, *cams.shape[1:]), np.float32)
    full[keys - 1] = scores.numpy()
    mask = read_label_png(osp.join(runner.work_dir, 'irn_labels',
                                   info['img_name'] + '.png'))
    np.testing.assert_array_equal(mask, threshold_mask(full, 0.25))
    # a killed run resumes: only the missing mask is written again
    out = osp.join(runner.work_dir, 'irn_labels')
    files = written(out)
    stamps = {f: os.stat(osp.join(out, f)).st_mtime_ns for f in files}
    os.remove(osp.join(out, files[0]))
    hook.generate(irn)
    assert written(out) == files
    assert {f for f in files if os.stat(osp.join(
        out, f)).st_mtime_ns != stamps[f]} == {files[0]}
    # a walk setting the network does not have is one clear error
    with pytest.raises(InputError, match=r"has no setting \['alpha'\]"):
        RandomWalkLabelHook(cam_dir=cam_dir, out_dir='irn5', alpha=16,
                            num_workers=0).generate(irn)
    # a CAM file that is missing, or of other classes, is one clear error
    path = osp.join(cam_dir, info['img_name'] + '.npy')
    shutil.move(path, path + '.bak')
    try:
        with pytest.raises(InputError, match='no CAMs for image'):
            RandomWalkLabelHook(cam_dir=cam_dir, out_dir='irn2',
                                num_workers=0).generate(irn)
    finally:
        shutil.move(path + '.bak', path)
    np.save(path + '.npy', dict(saved, keys=saved['keys'] + 1))
    os.replace(path + '.npy', path)
    try:
        with pytest.raises(InputError, match='CAMs of classes'):
            RandomWalkLabelHook(cam_dir=cam_dir, out_dir='irn3',
                                num_workers=0).generate(irn)
        np.save(path + '.npy', dict(saved, cam=saved['cam'][:, 1:]))
        os.replace(path + '.npy', path)
        with pytest.raises(InputError, match='but the image is'):
            RandomWalkLabelHook(cam_dir=cam_dir, out_dir='irn4',
                                num_workers=0).generate(irn)
    finally:
        np.save(path + '.npy', saved)
        os.replace(path + '.npy', path)


def test_masks_of_other_settings_are_not_reused(runner):
    out = osp.join(runner.work_dir, 'stale')
    hook = PseudoLabelHook(out_dir='stale', num_workers=0, num_overlays=0,
                           eval_ann_file=None)
    hook.generate(runner)
    record = json.load(open(osp.join(out, 'generation.json')))
    assert record['complete'] and record['settings']['bg_threshold'] == 0.3
    other = PseudoLabelHook(out_dir='stale', bg_threshold=0.5,
                            num_workers=0, num_overlays=0,
                            eval_ann_file=None)
    with pytest.raises(InputError, match='stale: its pseudo masks were made '
                       'with other settings \\(bg_threshold differ'):
        other.generate(runner)
    weight = runner.model.main_net.classifier.weight
    saved = weight.data.clone()
    weight.data += 1  # a retrained model, same checkpoint path
    try:
        with pytest.raises(InputError, match='weights_sha256 differ'):
            hook.generate(runner)
    finally:
        weight.data.copy_(saved)
    # the same data root through a symlink is the same data: resumed
    link = osp.join(runner.work_dir, 'link_to_root')
    os.symlink(runner.cfg.test_dataloader.dataset.data_root, link)
    cfg = runner.cfg.copy()
    cfg.test_dataloader.dataset.data_root = link
    hook.generate(SimpleNamespace(cfg=cfg, model=runner.model,
                                  work_dir=runner.work_dir))
    # every inference field of the model counts, those added later too
    for key, value in (('cam_aggregation', 'relu_then_sum'),
                       ('data_preprocessor.mean', [0., 0., 0.]),
                       ('data_preprocessor.std', [1., 1., 1.]),
                       ('data_preprocessor.bgr_to_rgb', False)):
        cfg = runner.cfg.copy()
        cfg.merge_from_dict({f'model.{key}': value})
        other = SimpleNamespace(cfg=cfg, model=runner.model,
                                work_dir=runner.work_dir)
        with pytest.raises(InputError, match='model_sha256 differ'):
            hook.generate(other)
    # ... not what only training reads
    cfg = runner.cfg.copy()
    cfg.merge_from_dict({'model.rcm_loss.loss_weight': 0.5,
                         'model.train_cfg.mam_every': 4})
    hook.generate(SimpleNamespace(cfg=cfg, model=runner.model,
                                  work_dir=runner.work_dir))
    os.remove(osp.join(out, 'generation.json'))  # masks of an old version
    with pytest.raises(InputError, match='holds pseudo masks with no record '
                       'of what made them'):
        hook.generate(runner)


def test_stage2_refuses_an_unfinished_mask_folder(runner, voc_root):
    from projects.rcm_mam.datasets import PseudoMaskVOCDataset
    hook = PseudoLabelHook(out_dir='finished', num_workers=0,
                           num_overlays=0, eval_ann_file=None)
    hook.generate(runner)
    out = osp.join(runner.work_dir, 'finished')

    def build(folder=out, root=voc_root):
        return PseudoMaskVOCDataset(
            data_root=root, ann_file='ImageSets/Segmentation/'
            'train_aug.txt', data_prefix=dict(img_path='JPEGImages',
                                              seg_map_path=folder))

    assert len(build()) == 18
    record = osp.join(out, 'generation.json')
    json.dump(dict(json.load(open(record)), complete=False),
              open(record, 'w'))  # as a killed generation leaves it
    with pytest.raises(InputError, match='is from a generation that did '
                       'not finish'):
        build()
    hook.generate(runner)  # the re-run resumes and finishes
    assert len(build()) == 18
    # the same data root through a symlink is the same data; a copy is not
    link = osp.join(runner.work_dir, 'linked_root')
    os.symlink(voc_root, link)
    assert len(build(root=link)) == 18
    copy = shutil.copytree(voc_root, osp.join(runner.work_dir, 'copy'))
    with pytest.raises(InputError, match='made for other data \\(.*; data '
                       'root: '):
        build(root=copy)
    # a label file changed since the masks were made
    made = json.load(open(record))
    made['settings']['label_file_sha256'] = '0' * 64
    json.dump(made, open(record, 'w'))
    with pytest.raises(InputError, match='made for other data \\(content '
                       'of .*cls_labels.json: 0000'):
        build()
    os.remove(record)
    with pytest.raises(InputError, match='has no record of its generation'):
        build()
    PseudoLabelHook(ann_file='ImageSets/Segmentation/train.txt',
                    out_dir='of_train', num_workers=0, num_overlays=0,
                    eval_ann_file=None).generate(runner)
    with pytest.raises(InputError, match='its pseudo masks were made for '
                       'other data \\(split file: .*train.txt there, '
                       '.*train_aug.txt here\\)'):
        build(osp.join(runner.work_dir, 'of_train'))


def train_refinement(tmp_path, base: str, voc_root: str, labels,
                     name: str, **model) -> None:
    """Train a synthetic refinement config for 2 iterations at 64 px on
    ``labels`` with tools/train.py into ``tmp_path/name``; its walk hook
    (16 steps) writes ``name``_labels after training."""
    config = tmp_path / f'{name}.py'
    config.write_text(f'''_base_ = {osp.join(CONFIGS, 'synthetic', base)!r}
crop_size = (64, 64)
model = dict(data_preprocessor=dict(size=crop_size), **{model!r})
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={voc_root!r},
                 data_prefix=dict(seg_map_path={str(labels)!r}),
                 pipeline=[
                     {{{{_base_.load_image}}}}, dict(type='LoadAnnotations'),
                     dict(type='RandomCrop', crop_size=crop_size),
                     dict(type='PackSegInputs')]))
walk_dataset = dict(data_root={voc_root!r})
train_cfg = dict(max_iters=2)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2))
custom_hooks = [dict(type='RandomWalkLabelHook', num_workers=0, steps=16,
                     cam_dir={str(labels)!r}, out_dir='{name}_labels')]
''')
    result = subprocess.run(
        [PYTHON, 'tools/train.py', str(config), '--work-dir',
         str(tmp_path / name)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'loss_affinity' in result.stdout + result.stderr
    assert osp.exists(tmp_path / name / 'iter_2.pth')


@pytest.mark.slow
def test_make_pseudo_labels_tool(tmp_path, voc_root):
    config = tiny_config(tmp_path / 'cfg.py', voc_root,
                         'synthetic/cam_r18_synthetic.py', iters=2,
                         extra='model.update(test_cfg=dict(scales=(1.0,), '
                         'flip=False, bg_threshold=0.3))')
    env = dict(os.environ)
    subprocess.run([PYTHON, 'tools/train.py', config, '--work-dir',
                    str(tmp_path / 'train')], cwd=ROOT, check=True,
                   capture_output=True, env=env)
    result = subprocess.run(
        [PYTHON, 'tools/make_pseudo_labels.py', config,
         str(tmp_path / 'train' / 'iter_2.pth'), '--work-dir',
         str(tmp_path / 'gen')], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(written(tmp_path / 'gen' / 'pseudo_labels')) == 18
    assert not json.load(open(tmp_path / 'gen' / 'pseudo_labels.json'))[
        'crf']  # as the config
    result = subprocess.run(
        [PYTHON, 'tools/make_pseudo_labels.py', config,
         str(tmp_path / 'train' / 'iter_2.pth'), '--work-dir',
         str(tmp_path / 'crf'), '--crf'], cwd=ROOT, capture_output=True,
        text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.load(open(tmp_path / 'crf' / 'pseudo_labels.json'))['crf']
    result = subprocess.run(
        [PYTHON, 'tools/make_pseudo_labels.py', config,
         str(tmp_path / 'train' / 'iter_2.pth'), '--work-dir',
         str(tmp_path / 'crf'), '--confident'], cwd=ROOT,
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(written(tmp_path / 'crf' / 'ir_labels')) == 18
    # IRN's boundary network trains on them with tools/train.py, and its
    # hook writes the walk's masks of train_aug, scored on train
    train_refinement(tmp_path, 'irn_r18_synthetic.py', voc_root,
                     tmp_path / 'crf' / 'ir_labels', 'irn', radius=5)
    assert len(written(tmp_path / 'irn' / 'irn_labels')) == 18
    summary = json.load(open(tmp_path / 'irn' / 'irn_labels.json'))
    assert summary['bg_threshold'] == 0.25 and 0 <= summary['mIoU'] <= 100
    # ... and so do PSA's AffinityNet from its labels
    result = subprocess.run(
        [PYTHON, 'tools/make_pseudo_labels.py', config,
         str(tmp_path / 'train' / 'iter_2.pth'), '--work-dir',
         str(tmp_path / 'crf'), '--confident', 'psa'], cwd=ROOT,
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    train_refinement(tmp_path, 'affinitynet_r18_synthetic.py', voc_root,
                     tmp_path / 'crf' / 'psa_labels', 'aff')
    assert len(written(tmp_path / 'aff' / 'aff_labels')) == 18
    summary = json.load(open(tmp_path / 'aff' / 'aff_labels.json'))
    assert summary['bg_threshold'] is None and 0 <= summary['mIoU'] <= 100
    result = subprocess.run(
        [PYTHON, 'tools/make_pseudo_labels.py', config,
         str(tmp_path / 'missing.pth')], cwd=ROOT, capture_output=True,
        text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f'error: {tmp_path}/missing.pth: checkpoint not found. Fix: give '
        'the path of a .pth file written by tools/train.py.'
    ]
