"""End-to-end training through tools/train.py and MMEngine's Runner."""
import glob
import json
import os
import os.path as osp
import subprocess

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from conftest import PYTHON, ROOT, tiny_config

FULL = 'synthetic/rcm_mam_r18_synthetic.py'


def train(config, work_dir, *args, env=None):
    result = subprocess.run(
        [PYTHON, 'tools/train.py', config, '--work-dir', str(work_dir),
         *args], cwd=ROOT, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def logged(work_dir):
    """The scalars MMEngine logged, one dict per logged iteration."""
    path = sorted(glob.glob(f'{work_dir}/*/vis_data/scalars.json'))[-1]
    with open(path) as f:
        return [json.loads(line) for line in f if '"loss"' in line]


def mean_of(rows, key, part) -> float:
    values = [r[key] for r in rows]
    return sum(values[part]) / len(values[part])


@pytest.mark.slow
def test_short_staged_training_lowers_every_loss(tmp_path, voc_root):
    """Plain CAM, then RCM + MAM from its checkpoint (the default configs).

    The classification loss is judged from the start of the run, RCM and
    MAM from the iteration they are switched on, as the paper writes them
    (``skip_missed=None``): with the configs' guard, the SupportNet of a
    20-iteration warm-up recognises hardly any class, so RCM starts at 0
    and grows as classes are recognised (tests/test_losses.py tests it).
    The optimizer is AdamW (lr 1e-3): in 20 iterations the configs' SGD at
    the paper's lr hardly moves RCM's loss, and this tests that the losses
    train, not the schedule.
    """
    iters = 20
    adamw = "optim_wrapper = dict(optimizer=dict(_delete_=True, " \
        "type='AdamW', lr=1e-3, weight_decay=1e-4))\n"
    cam = tiny_config(tmp_path / 'cam.py', voc_root,
                      'synthetic/cam_r18_synthetic.py', iters=iters,
                      extra=adamw)
    train(cam, tmp_path / 'cam')
    full = tiny_config(tmp_path / 'full.py', voc_root, FULL, iters=iters,
                       extra=adamw +
                       f"load_from = '{tmp_path}/cam/iter_{iters}.pth'")
    train(full, tmp_path / 'full', '--cfg-options',
          'model.rcm_loss.skip_missed=None', 'model.mam_loss.skip_missed=None')
    first, second = logged(tmp_path / 'cam'), logged(tmp_path / 'full')
    assert len(first) == len(second) == iters
    start, end = slice(0, 5), slice(-5, None)
    assert mean_of(second, 'loss_cls', end) < mean_of(first, 'loss_cls',
                                                      start)
    for key in ('loss_rcm', 'loss_mam'):
        assert mean_of(second, key, end) < mean_of(second, key, start), key


@pytest.mark.slow
def test_resume_restores_supportnet_and_optimizer(tmp_path, voc_root):
    config = tiny_config(tmp_path / 'cfg.py', voc_root, FULL, iters=4)
    work = tmp_path / 'work'
    train(config, work)
    saved = torch.load(work / 'iter_2.pth', map_location='cpu',
                       weights_only=False)
    state = saved['state_dict']
    support = {k: v for k, v in state.items() if k.startswith('support_net')}
    assert support and int(state['support_net.steps']) == 3  # reset + 2
    main_w = state['main_net.classifier.weight']
    assert not torch.equal(support['support_net.module.classifier.weight'],
                           main_w), 'SupportNet lags MainNet (EMA)'

    cfg = Config.fromfile(config)
    cfg.work_dir = str(tmp_path / 'resumed')
    cfg.resume, cfg.load_from = True, str(work / 'iter_2.pth')
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    assert runner.iter == 2
    model = runner.model.state_dict()
    for key, value in support.items():
        assert torch.equal(model[key], value), key
    assert runner.optim_wrapper.state_dict()['state'], 'momentum restored'
    # the hook keeps the resumed SupportNet (no reset after iteration 0)
    runner.call_hook('before_train')
    assert torch.equal(runner.model.support_net.module.classifier.weight,
                       support['support_net.module.classifier.weight'])


@pytest.mark.slow
def test_two_processes_on_cpu(tmp_path, voc_root):
    config = tiny_config(tmp_path / 'cfg.py', voc_root, FULL, iters=4)
    env = dict(os.environ, PYTHON=PYTHON, PORT='29533',
               OMP_NUM_THREADS='1')
    result = subprocess.run(
        ['bash', 'tools/dist_train.sh', config, '2', '--work-dir',
         str(tmp_path / 'work')], cwd=ROOT, capture_output=True, text=True,
        env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    log = open(glob.glob(f'{tmp_path}/work/*/*.log')[0]).read()
    assert 'Distributed training: True' in log
    assert 'world_size: 2' in log or 'GPU number: 2' in log or \
        "'world_size': 2" in log
    assert osp.isfile(tmp_path / 'work' / 'iter_4.pth')
    assert len(logged(tmp_path / 'work')) == 4
