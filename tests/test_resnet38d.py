"""ResNet-38d: its maps and frozen parts, the weight converter on files of
both published forms that the test writes (real key names and shapes,
random values), and the authors' recipe on it trained for 2 iterations."""
import os.path as osp
import struct
import subprocess

import numpy as np
import pytest
import torch

from conftest import PYTHON, ROOT, tiny_config
from projects.rcm_mam.models import ResNet38d
from tools.model_converters.mxnet_params import LIST_MAGIC, V2

BN = {'weight': 'gamma', 'bias': 'beta', 'running_mean': 'moving_mean',
      'running_var': 'moving_var'}


def test_maps_and_frozen_parts():
    net = ResNet38d(dropout=(0.2, 0.2), out_indices=(0, 1, 2))
    net.train()
    maps = net(torch.randn(1, 3, 61, 45))
    assert [tuple(m.shape) for m in maps] == [(1, 512, 8, 6),
                                              (1, 1024, 8, 6),
                                              (1, 4096, 8, 6)]
    assert maps[2].min() >= 0  # after BN + ReLU
    for name, param in net.named_parameters():
        frozen = name.split('.')[0] in ('conv1a', 'b2', 'b2_1', 'b2_2') or \
            '.bn' in name or name.startswith('bn7')
        assert param.requires_grad != frozen, name
    assert all(not m.training for m in net.modules()
               if isinstance(m, torch.nn.BatchNorm2d))
    assert net.b6.dropout.p == 0.2 and net.b7.dropout.training
    assert ResNet38d().b7.dropout.p == 0.5  # PSA's


def mxnet_name(key: str) -> str:
    """The MXNet original's name of a backbone key (test-side inverse of
    the converter's mapping)."""
    if key == 'conv1a.weight':
        return 'arg:conv1a_weight'
    *module, param = key.split('.')
    if module == ['bn7']:
        layer, branch = 'bn7', ''
    else:
        block, layer = module
        stage, _, unit = block[1:].partition('_')
        kind, branch = layer.split('_', 1)
        layer = ('res' if kind == 'conv' else 'bn') + stage + \
            (f'b{unit}' if unit else 'a')
        branch = '_' + branch
    param = BN.get(param, param)
    prefix = 'aux' if param.startswith('moving') else 'arg'
    return f'{prefix}:{layer}{branch}_{param}'


def write_mxnet(path, arrays: dict, legacy: bool) -> None:
    """``mx.nd.save``'s layout: V2 records (or legacy ones) of float32
    arrays, then the names."""
    with open(path, 'wb') as f:
        f.write(struct.pack('<QQQ', LIST_MAGIC, 0, len(arrays)))
        for value in arrays.values():
            if legacy:
                f.write(struct.pack(f'<I{value.ndim}I', value.ndim,
                                    *value.shape))
            else:
                f.write(struct.pack(f'<Iii{value.ndim}q', V2, 0, value.ndim,
                                    *value.shape))
            f.write(struct.pack('<iii', 1, 0, 0))  # CPU, float32
            f.write(np.ascontiguousarray(value, np.float32).tobytes())
        f.write(struct.pack('<Q', len(arrays)))
        for name in arrays:
            f.write(struct.pack('<Q', len(name)) + name.encode())


@pytest.fixture(scope='module')
def weights():
    """Random weights of ResNet-38d (running statistics too)."""
    torch.manual_seed(0)
    return {k: torch.randn_like(v, dtype=torch.float32)
            for k, v in ResNet38d().state_dict().items()
            if not k.endswith('num_batches_tracked')}


def convert(src, out) -> dict:
    result = subprocess.run(
        [PYTHON, 'tools/model_converters/resnet38d_psa.py', str(src),
         str(out)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    path = result.stdout.split()[0]
    assert result.stdout.strip().splitlines()[-1].endswith(
        f'init_cfg.checkpoint={path}')
    assert osp.basename(path).startswith('resnet38d_psa-')
    return torch.load(path, weights_only=True)['state_dict']


@pytest.mark.parametrize('form', ['mxnet', 'mxnet legacy', 'psa pth'])
def test_converter_round_trip(form, weights, tmp_path):
    src = tmp_path / 'src'
    if form == 'psa pth':
        torch.save(dict(weights, **{'fc8.weight': torch.ones(20, 4096)}),
                   src)
    else:
        arrays = {mxnet_name(k): v.numpy() for k, v in weights.items()}
        arrays['arg:linear1000_weight'] = np.ones((1000, 4096), np.float32)
        write_mxnet(src, arrays, legacy=form == 'mxnet legacy')
    state = convert(src, tmp_path / 'out')
    assert set(state) == set(ResNet38d().state_dict())
    for key, value in weights.items():
        assert torch.equal(state[key], value), key


def test_converter_refuses_another_network(tmp_path):
    src = tmp_path / 'r18.pth'
    torch.save(dict(state_dict={'conv1a.weight': torch.ones(64, 3, 7, 7)}),
               src)
    result = subprocess.run(
        [PYTHON, 'tools/model_converters/resnet38d_psa.py', str(src),
         str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {src}: not ResNet-38d's weights: conv1a.weight "
        '(64, 3, 3, 3) is of shape (64, 3, 7, 7). Fix: give Wu et al.\'s '
        'A1 ImageNet file (ilsvrc-cls_rna-a1_cls1000_ep-0001.params) or '
        "PSA's conversion of it."]


@pytest.mark.slow
def test_authors_recipe_trains_on_resnet38d(weights, voc_root, tmp_path):
    """configs/rcm_mam_r38_voc_authors.py, 2 iterations at crop 64, batch
    2, scale 1, from converted random weights."""
    torch.save(dict(weights), tmp_path / 'psa.pth')
    state = convert(tmp_path / 'psa.pth', tmp_path / 'pretrained')
    (checkpoint, ) = (tmp_path / 'pretrained').glob('resnet38d_psa-*.pth')
    config = tiny_config(
        tmp_path / 'cfg.py', voc_root, 'rcm_mam_r38_voc_authors.py', iters=2,
        extra=f'''model.update(
    main_net=dict(backbone=dict(init_cfg=dict(checkpoint={str(checkpoint)!r}))),
    train_cfg=dict(support_scales=(1.0, ), mam_scales=(1.0, ),
                   loss_resolution='input'),
    test_cfg=dict(scales=(1.0, ), flip=False, bg_threshold=0.3))
train_dataloader.update(batch_size=2)
auto_scale_lr = dict(base_batch_size=2)
custom_hooks = [dict(type='SupportNetHook')]''')
    result = subprocess.run(
        [PYTHON, 'tools/train.py', config, '--work-dir', str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    trained = torch.load(tmp_path / 'iter_2.pth', weights_only=False)
    trained = trained['state_dict']
    # the frozen stem kept the converted weights; a trained block moved
    assert torch.equal(trained['main_net.backbone.conv1a.weight'],
                       state['conv1a.weight'])
    assert not torch.equal(
        trained['main_net.backbone.b7.conv_branch2b2.weight'],
        state['b7.conv_branch2b2.weight'])
