"""Shared fixtures: a small synthetic VOC set made once per test session."""
import os.path as osp
import shutil
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from projects.rcm_mam.datasets import VOCImageLabelDataset  # noqa: E402
from projects.rcm_mam.utils.checkpoint import \
    use_trusted_checkpoints  # noqa: E402
from tools.dataset_converters.synthetic_voc import make_synthetic_voc  # noqa


def pytest_configure(config):
    use_trusted_checkpoints()  # the tests load checkpoints as the tools do
    config.addinivalue_line(
        'markers', 'slow: end-to-end runs of a minute or more (CI runs '
        'them; skip locally with -m "not slow")')


@pytest.fixture(scope='session')
def voc_root(tmp_path_factory) -> str:
    """``VOCdevkit/VOC2012`` of a 12/6/6-image synthetic set (read-only)."""
    out = tmp_path_factory.mktemp('synthetic')
    make_synthetic_voc(str(out), seed=0, num_train=12, num_val=6, num_aug=6)
    return osp.join(str(out), 'VOCdevkit', 'VOC2012')


@pytest.fixture
def root(tmp_path, voc_root) -> str:
    """A private, writable copy of the synthetic set."""
    return shutil.copytree(voc_root, str(tmp_path / 'VOC2012'))


def build_dataset(root: str, split: str = 'train',
                  **kwargs) -> VOCImageLabelDataset:
    """The dataset of ``split`` under ``root`` (no pipeline)."""
    return VOCImageLabelDataset(
        data_root=root, ann_file=f'ImageSets/Segmentation/{split}.txt',
        **kwargs)


CONFIGS = osp.join(ROOT, 'configs')
PYTHON = sys.executable


def tiny_config(path, voc_root: str, base: str, iters: int = 4,
                extra: str = '') -> str:
    """Write a config inheriting ``base`` at test size; return its path.

    Crops of 64 px, batch 4, no data workers, no validation, logging every
    iteration and a checkpoint every 2 iterations, on the session's
    synthetic set.
    """
    text = f'''_base_ = {osp.join(CONFIGS, base)!r}
data_root = {voc_root!r}
crop = (64, 64)
model = dict(data_preprocessor=dict(size=crop))
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=[
        dict(type='LoadVerifiedImageFromFile'),
        dict(type='RandomResize', scale=(96, 96), ratio_range=(0.7, 1.0),
             keep_ratio=True),
        dict(type='RandomFlip', prob=0.5),
        dict(type='RandomCrop', crop_size=crop),
        dict(type='PackWSSSInputs')]))
val_cfg = val_dataloader = val_evaluator = None  # no validation
test_dataloader = dict(num_workers=0, persistent_workers=False,
                       dataset=dict(data_root=data_root))
train_cfg = dict(max_iters={iters}, val_interval=1000)
param_scheduler = [dict(type='PolyLR', power=0.9, begin=0, end={iters},
                        by_epoch=False)]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=2, max_keep_ckpts=10))
{extra}
'''
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def save_model_checkpoint(config: str, path) -> str:
    """Save the initial weights of ``config``'s model as a checkpoint."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    torch.save(dict(state_dict=model.state_dict()), path)
    return str(path)
