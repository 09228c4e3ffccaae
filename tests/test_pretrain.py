"""The Parts-64 pretraining: the shipped checkpoint, its loading into the
synthetic configs, and the pretraining command at test size."""
import hashlib
import json
import os.path as osp
import subprocess

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from conftest import CONFIGS, PYTHON, ROOT
from tools.dataset_converters.parts_corpus import make_parts_corpus

PRETRAINED = osp.join(ROOT, 'pretrained')
PRETRAIN_CONFIG = osp.join(CONFIGS, 'pretrain',
                           'resnet18-w32_1xb64_parts64.py')


def shipped_checkpoint() -> str:
    """The checkpoint the synthetic configs load."""
    return Config.fromfile(osp.join(
        CONFIGS, '_base_', 'models',
        'resnet18_w32_parts64.py')).parts64_checkpoint


def test_shipped_checkpoint_is_intact():
    path = shipped_checkpoint()
    sums = dict(line.split()[::-1] for line in open(
        osp.join(PRETRAINED, 'SHA256SUMS')))
    with open(path, 'rb') as f:
        data = f.read()
    digest = hashlib.sha256(data).hexdigest()
    assert sums[osp.basename(path)] == digest
    assert osp.basename(path).endswith(f'-{digest[:8]}.pth')
    assert len(data) < 10 * 2**20
    state = torch.load(path, weights_only=True)['state_dict']
    assert state['backbone.conv1.weight'].dtype == torch.float16


def backbone_state(path: str) -> dict:
    state = torch.load(path, weights_only=True)['state_dict']
    return {k[len('backbone.'):]: v.float() for k, v in state.items()
            if k.startswith('backbone.')}


@pytest.mark.parametrize('config, backbone', [
    ('synthetic/cam_r18_synthetic.py', 'main_net.backbone'),
    ('synthetic/deeplabv3_r18_synthetic_pseudo.py', 'backbone')])
def test_configs_start_from_the_checkpoint(config, backbone):
    init_default_scope('mmseg')
    model = MODELS.build(Config.fromfile(osp.join(CONFIGS, config)).model)
    model.init_weights()
    weights = model.get_submodule(backbone).state_dict()
    expected = backbone_state(shipped_checkpoint())
    assert len(expected) > 100 and set(expected) <= set(weights)
    for key, value in expected.items():
        torch.testing.assert_close(weights[key].float(), value, msg=key)


def test_stage1_follows_the_paper_regime():
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(CONFIGS, 'synthetic',
                                   'rcm_mam_r18_synthetic.py'))
    model = MODELS.build(cfg.model)
    model.train()
    backbone = model.main_net.backbone
    # stem and first stage frozen, BN in eval mode everywhere
    assert not any(p.requires_grad for p in backbone.conv1.parameters())
    assert not any(p.requires_grad for p in backbone.layer1.parameters())
    assert all(p.requires_grad for p in backbone.layer2.parameters())
    assert not backbone.layer4[0].bn1.training
    assert cfg.optim_wrapper.optimizer.type == 'SGD'


@pytest.mark.slow
def test_pretraining_command(tmp_path):
    """The README's pretraining commands at test size: a few iterations of
    mmpretrain's runner, its top-1 on the held-out part, the published
    checkpoint loading into the CAM config."""
    corpus = str(tmp_path / 'parts64')
    make_parts_corpus(corpus, num_train=64, num_val=32, nproc=1)
    work = tmp_path / 'work'
    roots = [f'{x}_dataloader.dataset.data_root={corpus}'
             for x in ('train', 'val', 'test')]
    result = subprocess.run(
        [PYTHON, 'tools/train.py', PRETRAIN_CONFIG, '--work-dir', str(work),
         '--cfg-options', *roots, 'train_cfg.max_epochs=2',
         'train_cfg.val_interval=2', 'train_dataloader.batch_size=16',
         'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False',
         'val_dataloader.persistent_workers=False',
         'default_hooks.logger.interval=1'],
        cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    log = open(next(work.glob('*/*.log'))).read()
    assert 'Epoch(train) [2][4/4]' in log and 'accuracy/top1' in log
    scalars = [json.loads(line) for line in open(
        next(work.glob('*/vis_data/scalars.json')))]
    assert 0 <= scalars[-1]['accuracy/top1'] <= 100
    pub = tmp_path / 'pub'
    pub.mkdir()
    other = f'{"0" * 64}  resnet18-w32_parts64_v2-00000000.pth\n'
    (pub / 'SHA256SUMS').write_text(other)  # another name, the same prefix
    for epoch in (1, 2):  # the second replaces the first
        result = subprocess.run(
            [PYTHON, 'tools/publish_checkpoint.py',
             str(work / f'epoch_{epoch}.pth'), str(pub), '--name',
             'resnet18-w32_parts64'], cwd=ROOT, capture_output=True,
            text=True)
        assert result.returncode == 0, result.stderr[-3000:]
    (published, ) = pub.glob('resnet18-w32_parts64-*.pth')
    sums = (pub / 'SHA256SUMS').read_text().splitlines()
    assert sums[0] == hashlib.sha256(published.read_bytes()).hexdigest() + \
        '  ' + published.name and sums[1:] == other.splitlines()
    trained = torch.load(work / 'epoch_2.pth', weights_only=False)
    state = backbone_state(str(published))
    for key, value in state.items():
        torch.testing.assert_close(
            value, trained['state_dict']['backbone.' + key].float(),
            atol=1e-2, rtol=1e-3)
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(CONFIGS, 'synthetic',
                                   'cam_r18_synthetic.py'))
    cfg.model.main_net.backbone.init_cfg.checkpoint = str(published)
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.testing.assert_close(
        model.main_net.backbone.conv1.weight, state['conv1.weight'])
