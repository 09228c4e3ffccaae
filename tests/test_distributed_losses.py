"""RCM and MAM as global means: N processes x B/N images = 1 x B images.

Each run is ``torch.distributed.run`` (gloo on CPU) of a script that builds
the synthetic RCM + MAM model (frozen BN, so batch statistics play no
part), takes its share of the same 4 images and saves its losses and
MainNet's gradients after DDP's averaging.
"""
import os
import subprocess

import pytest
import torch

from conftest import PYTHON, ROOT

SCRIPT = f'''
import os, sys
import torch
import torch.distributed as dist
sys.path.insert(0, {ROOT!r})
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
import projects.rcm_mam  # noqa

world, rank = int(os.environ['WORLD_SIZE']), int(os.environ['RANK'])
if world > 1:
    dist.init_process_group('gloo')
torch.manual_seed(0)
init_default_scope('mmseg')
cfg = Config.fromfile(os.path.join({ROOT!r}, 'configs', 'synthetic',
                                   'rcm_mam_r18_synthetic.py'))
cfg.model.rcm_loss.loss_weight = cfg.model.mam_loss.loss_weight = 1.0
model = MODELS.build(cfg.model)
model.reset_support_net()
model.train()
inputs = torch.randn(4, 3, 64, 64, generator=torch.Generator().manual_seed(1))
samples = []
for classes in ([0, 5], [1], [2, 5, 7], [3]):  # unequal class counts
    sample = SegDataSample(metainfo=dict(img_shape=(64, 64)))
    sample.gt_score = torch.zeros(20)
    sample.gt_score[classes] = 1
    sample.gt_sem_seg = PixelData(data=torch.zeros(1, 64, 64).long())
    samples.append(sample)
n = 4 // world
mine = slice(rank * n, rank * n + n)
net = torch.nn.parallel.DistributedDataParallel(
    model, find_unused_parameters=True) if world > 1 else model
losses = net(inputs[mine], samples[mine], mode='loss')
sum(v for k, v in losses.items() if k.startswith('loss')).backward()
_, logged = model.parse_losses(losses)
torch.save(dict(
    losses={{k: v.item() for k, v in losses.items()}},
    logged={{k: v.item() for k, v in logged.items()}},
    grads={{k: p.grad.clone() for k, p in model.main_net.named_parameters()
           if p.grad is not None}}), sys.argv[1] + f'/rank{{rank}}.pt')
'''


def run(tmp_path, world: int) -> list:
    """Each rank's losses and gradients."""
    out = tmp_path / f'world{world}'
    out.mkdir()
    script = tmp_path / 'losses.py'
    script.write_text(SCRIPT)
    result = subprocess.run(
        [PYTHON, '-m', 'torch.distributed.run', f'--nproc_per_node={world}',
         '--master_port=29517', str(script), str(out)], cwd=ROOT,
        capture_output=True, text=True,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode == 0, result.stderr[-3000:]
    return [torch.load(out / f'rank{r}.pt') for r in range(world)]


@pytest.mark.slow
@pytest.mark.parametrize('world', [2, 4])
def test_processes_train_as_one(tmp_path, world):
    one, = run(tmp_path, 1)
    ranks = run(tmp_path, world)
    for key in ('loss_cls', 'loss_rcm', 'loss_mam'):
        mean = sum(r['losses'][key] for r in ranks) / world  # DDP's average
        assert mean == pytest.approx(one['losses'][key], abs=1e-5), key
    assert one['losses']['loss_rcm'] > 0 and one['losses']['loss_mam'] > 0
    # every rank logs the global values, those of one process (rank 0's
    # own share of MAM is 0 or twice the mean)
    for r in ranks:
        for key in ('loss', 'loss_cls', 'loss_rcm', 'loss_mam'):
            assert r['logged'][key] == pytest.approx(one['logged'][key],
                                                     abs=1e-5), key
    for name, grad in one['grads'].items():
        for r in ranks:  # DDP gave every rank the averaged gradient
            torch.testing.assert_close(r['grads'][name], grad, atol=1e-5,
                                       rtol=1e-4, msg=name)
