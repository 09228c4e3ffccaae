"""Pre-emption and distribution: SIGKILL then re-run; 2 processes = 1."""
import glob
import os
import os.path as osp
import signal
import subprocess
import time

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import PYTHON, ROOT, save_model_checkpoint, tiny_config

FULL = 'synthetic/rcm_mam_r18_synthetic.py'
# one thread per process: 1-process and 2-process runs then do the same
# float operations in the same order
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHON=PYTHON)


def start(args, **kwargs) -> subprocess.Popen:
    """``args`` in a process group of their own, ``kwargs`` added to the
    environment."""
    return subprocess.Popen(args, cwd=ROOT, env=dict(ENV, **kwargs),
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def kill_when(process: subprocess.Popen, ready, timeout: float = 600):
    """SIGKILL ``process`` and its children as soon as ``ready()`` holds."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, process.stderr.read()[-3000:]
        assert time.monotonic() < deadline, 'never got ready'
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def finish(process: subprocess.Popen) -> None:
    _, stderr = process.communicate()
    assert process.returncode == 0, stderr[-3000:]


def logged(work_dir) -> dict:
    """Iteration -> logged scalars, over every run in ``work_dir``."""
    import json
    rows = {}
    for path in sorted(glob.glob(f'{work_dir}/*/vis_data/scalars.json')):
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if 'loss' in row:
                    rows[row['iter']] = row
    return rows


@pytest.mark.slow
def test_training_killed_then_resumed(tmp_path, voc_root):
    iters = 12
    config = tiny_config(tmp_path / 'cfg.py', voc_root, FULL, iters=iters)
    work = tmp_path / 'work'
    args = [PYTHON, 'tools/train.py', config, '--work-dir', str(work)]
    kill_when(start(args), lambda: osp.isfile(work / 'iter_6.pth'))
    assert not osp.isfile(work / f'iter_{iters}.pth')
    finish(start(args + ['--resume']))
    assert osp.isfile(work / f'iter_{iters}.pth')
    rows = logged(work)
    assert sorted(rows) == list(range(1, iters + 1))
    # the scheduler resumed: poly lr of the iteration, not of iteration 1
    # (MMEngine's PolyLR reaches its minimum at step end - 1)
    base = rows[1]['lr']
    for it, row in rows.items():
        assert row['lr'] == pytest.approx(
            base * (1 - (it - 1) / (iters - 1))**0.9, rel=1e-4), it
    # the model resumed: the loss goes on from where it was, far from
    # the loss of the untrained network
    loss = [rows[i]['loss_cls'] for i in range(1, iters + 1)]
    initial, before, after = loss[0], np.mean(loss[4:6]), np.mean(loss[6:8])
    assert abs(after - before) < abs(after - initial), loss


@pytest.mark.slow
def test_resume_passes_over_a_truncated_checkpoint(tmp_path, voc_root):
    config = tiny_config(tmp_path / 'cfg.py', voc_root, FULL, iters=4)
    work = tmp_path / 'work'
    args = [PYTHON, 'tools/train.py', config, '--work-dir', str(work)]
    finish(start(args))
    data = (work / 'iter_4.pth').read_bytes()  # a save cut short
    (work / 'iter_4.pth').write_bytes(data[:len(data) // 3])
    result = subprocess.run(args + ['--resume'], cwd=ROOT, env=ENV,
                            text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert f'{work / "iter_4.pth"} is truncated; resuming from ' \
        f'{work / "iter_2.pth"}' in result.stdout
    checkpoint = torch.load(work / 'iter_4.pth', weights_only=False)
    assert checkpoint['meta']['iter'] == 4


@pytest.mark.slow
def test_killed_second_stage_resumes_its_own_work(tmp_path, voc_root):
    """The pipeline's stage runner passes --resume with the stage's
    load_from (the previous stage's checkpoint, here at iteration 12); the
    killed stage of 8 iterations must go on from its own iteration 4."""
    first = tiny_config(tmp_path / 'first.py', voc_root, FULL, iters=12)
    second = tiny_config(tmp_path / 'second.py', voc_root, FULL, iters=8)
    driver = f'''
from tools.pipeline import StageRunner
stages = StageRunner({str(tmp_path)!r})
warm = stages.train({first!r}, {str(tmp_path / "first")!r}, [])
stages.train({second!r}, {str(tmp_path / "second")!r}, [f"load_from={{warm}}"])
'''
    work = tmp_path / 'second'
    kill_when(start([PYTHON, '-c', driver]), lambda: osp.isfile(
        work / 'last_checkpoint') and open(
            work / 'last_checkpoint').read().endswith('iter_4.pth'))
    partial = torch.load(work / 'iter_4.pth', weights_only=False)
    assert not osp.isfile(work / 'done')
    finish(start([PYTHON, '-c', driver]))
    final = open(work / 'done').read().strip()
    assert final == str(work / 'iter_8.pth')
    assert sorted(logged(work)) == list(range(1, 9))
    checkpoint = torch.load(final, weights_only=False)
    assert checkpoint['meta']['iter'] == 8
    assert not torch.equal(
        checkpoint['state_dict']['main_net.classifier.weight'],
        partial['state_dict']['main_net.classifier.weight'])


@pytest.fixture(scope='module')
def pseudo_case(voc_root, tmp_path_factory):
    """A tiny single-scale config and a checkpoint of its initial model."""
    tmp = tmp_path_factory.mktemp('pseudo')
    config = tiny_config(
        tmp / 'cfg.py', voc_root, FULL,
        extra='model.update(test_cfg=dict(scales=(1.0, 1.5), flip=True, '
        'bg_threshold=0.3))\n'
        'custom_hooks = [dict(type="SupportNetHook"), '
        'dict(type="PseudoLabelHook", num_workers=0)]')
    return config, save_model_checkpoint(config, tmp / 'model.pth')


def pseudo_labels(folder) -> dict:
    """Image name -> mask array of every PNG in ``folder``."""
    return {
        osp.basename(p): np.array(Image.open(p))
        for p in sorted(glob.glob(f'{folder}/*.png'))
    }


@pytest.mark.slow
def test_pseudo_labels_killed_then_rerun(tmp_path, pseudo_case, voc_root):
    config, checkpoint = pseudo_case
    out = tmp_path / 'work' / 'pseudo_labels'
    args = [PYTHON, 'tools/make_pseudo_labels.py', config, checkpoint,
            '--work-dir', str(tmp_path / 'work')]
    kill_when(start(args), lambda: len(glob.glob(f'{out}/*.png')) >= 6)
    before = {p: os.stat(p).st_mtime_ns for p in glob.glob(f'{out}/*.png')}
    assert 6 <= len(before) < 18
    finish(start(args))
    masks = pseudo_labels(out)
    # no temporary file left (the run's lock file stays)
    assert len(masks) == 18 and glob.glob(f'{out}/.*') == [f'{out}/.lock']
    for name, mask in masks.items():
        image = Image.open(osp.join(voc_root, 'JPEGImages',
                                    name[:-4] + '.jpg'))
        assert mask.shape == image.size[::-1], name
    assert {p: os.stat(p).st_mtime_ns for p in before} == before


@pytest.mark.slow
def test_two_processes_write_the_same_pseudo_labels(tmp_path, pseudo_case):
    config, checkpoint = pseudo_case
    finish(start([PYTHON, 'tools/make_pseudo_labels.py', config, checkpoint,
                  '--work-dir', str(tmp_path / 'one')]))
    finish(start(['bash', 'tools/dist_make_pseudo_labels.sh', config,
                  checkpoint, '2', '--work-dir', str(tmp_path / 'two')],
                 PORT='29537'))
    one = pseudo_labels(tmp_path / 'one' / 'pseudo_labels')
    two = pseudo_labels(tmp_path / 'two' / 'pseudo_labels')
    assert len(one) == 18 and one.keys() == two.keys()
    for name in one:
        np.testing.assert_array_equal(one[name], two[name], err_msg=name)


def test_checkpoints_are_written_atomically(tmp_path, monkeypatch):
    import errno
    from pathlib import Path

    from mmengine.config import Config
    from mmengine.fileio import get_file_backend

    from projects.rcm_mam.utils import InputError
    from projects.rcm_mam.utils.file_io import AtomicLocalBackend
    for config in ('synthetic/rcm_mam_r18_synthetic.py',
                   'deeplabv3_r101_voc_pseudo.py'):
        hook = Config.fromfile(osp.join(ROOT, 'configs', config)
                               ).default_hooks.checkpoint
        assert isinstance(get_file_backend(
            str(tmp_path), backend_args=dict(hook.backend_args)),
            AtomicLocalBackend), config
    backend = AtomicLocalBackend()
    path = tmp_path / 'iter_4.pth'
    backend.put(b'complete', path)
    backend.put_text('iter_4.pth', tmp_path / 'last_checkpoint')
    assert path.read_bytes() == b'complete'

    def full_disk(self, data):  # half written, then the disk is full
        with open(self, 'wb') as f:
            f.write(data[:3])
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(Path, 'write_bytes', full_disk)
    with pytest.raises(InputError, match=f'{tmp_path}: no space left on the '
                       'device while writing iter_6.pth'):
        backend.put(b'complete', tmp_path / 'iter_6.pth')
    assert sorted(os.listdir(tmp_path)) == ['iter_4.pth', 'last_checkpoint']
