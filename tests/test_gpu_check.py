"""benchmarks/gpu/check.sh: its CPU dry run, and a failing step recorded
while the others still run."""
import json
import os
import subprocess

import pytest

from conftest import PYTHON, ROOT

CHECK = 'benchmarks/gpu/check.sh'
CUDA_ONLY = {'cam_amp', 'rcm_mam_amp', 'rcm_mam_nccl', 'stage2_amp'}


def check(out, *flags, python=PYTHON, wheels='no wheels here'):
    env = dict(os.environ, PYTHON=python, RCM_MAM_GPU_WHEELS=str(wheels))
    return subprocess.run(['bash', CHECK, *flags, str(out)], cwd=ROOT,
                          env=env, capture_output=True, text=True)


def steps(out):
    summary = json.load(open(out / 'gpu_check.json'))
    return summary, {s['name']: s for s in summary['steps']}


@pytest.mark.slow
def test_dry_run_measures_every_cpu_step(tmp_path):
    out = tmp_path / 'gpu check'  # a space, as in a shared cluster's paths
    result = check(out, '--dry-run')
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    summary, by_name = steps(out)
    sizes = summary['check']
    assert sizes['dry_run'] and summary['environment']['modules']['mmcv.ops']
    skipped = {n for n, s in by_name.items() if s['status'] == 'skipped'}
    assert skipped == CUDA_ONLY | {'install'}  # no wheels: the venv's stack
    assert all(s['status'] == 'ok' for n, s in by_name.items()
               if n not in skipped)
    figures = {n: s.get('figures', {}) for n, s in by_name.items()}
    for name, iters in (('cam_fp32', sizes['cam_iters']),
                        ('rcm_mam_fp32', sizes['rcm_mam_iters']),
                        ('r38_fp32', sizes['r38_iters']),
                        ('stage2_fp32', sizes['stage2_iters'])):
        run = figures[name]
        assert run['iterations'] == iters and run['s_per_iter'] > 0, name
        assert run['losses_finite'] and not run['distributed'], name
    # the losses ran unguarded (a random-init SupportNet recognises no class)
    losses = figures['rcm_mam_fp32']['last_losses']
    assert losses['loss_mam'] > 0 and losses['loss_rcm'] >= 0
    # the RCM + MAM config's pseudo-label hook ran after training
    assert figures['rcm_mam_fp32']['pseudo_label_hook']['masks'] == \
        sizes['hook_images']
    # IRN: confident labels, its network trained, its walk after training
    assert figures['confident_labels']['masks'] == sizes['pseudo_images']
    assert figures['irn_fp32']['iterations'] == sizes['irn_iters']
    assert figures['irn_fp32']['losses_finite']
    walk = figures['irn_fp32']['pseudo_label_hook']
    assert walk['masks'] == sizes['hook_images'] and walk['images_per_s'] > 0
    for name, images in (('pseudo_labels', 'pseudo_images'),
                         ('pseudo_labels_crf', 'crf_images')):
        assert figures[name]['masks'] == sizes[images], name
        assert figures[name]['images_per_s'] > 0
        assert 0 <= figures[name]['mIoU'] <= 100
    bounds = figures['forward_bound']
    assert bounds['scales'] == [0.5, 1.0, 1.5, 2.0] and bounds['flip']
    assert bounds['single_scale_forward'] > bounds['multi_scale_forward'] > 0
    assert {'cam/mIoU', 'cam/crf_mIoU', 'multi-label/mAP'} <= set(
        figures['test_cam'])
    ratios = summary['headline']
    assert ratios['rcm_mam_time_x_cam']['fp32'] > 0
    assert ratios['rcm_mam_time_x_cam']['amp'] is None
    assert 0 < ratios['pseudo_labels_x_forward_bound']['pseudo_labels']
    table = (out / 'gpu_check.md').read_text()
    assert table.startswith('CPU dry run')
    assert '| cam_amp | skipped | 0 | CUDA only: not run in the dry run |' \
        in table


def test_a_failing_step_is_recorded_and_the_rest_run(tmp_path):
    """Every tools/train.py run fails (a stand-in interpreter); the steps
    after it still run, the summary is written, and the check fails."""
    fake = tmp_path / 'python'
    fake.write_text(f'''#!/usr/bin/env bash
case "$1" in
    benchmarks/gpu/*.py) exec {PYTHON} "$@" ;;
    tools/train.py) echo 'error: broken on purpose' >&2; exit 1 ;;
esac
''')
    fake.chmod(0o755)
    out = tmp_path / 'out'
    result = check(out, '--dry-run', python=fake)
    assert result.returncode == 1, result.stdout + result.stderr
    _, by_name = steps(out)
    status = {n: s['status'] for n, s in by_name.items()}
    assert status['cam_fp32'] == status['stage2_fp32'] == 'failed'
    assert status['pseudo_labels'] == status['test_cam'] == 'ok'
    assert 'figures' not in by_name['cam_fp32']
    assert 'broken on purpose' in (out / 'logs' / 'cam_fp32.log').read_text()
    assert '| cam_fp32 | failed |' in (out / 'gpu_check.md').read_text()


def test_refuses_a_used_folder_and_a_gpu_run_without_wheels(tmp_path):
    used = tmp_path / 'used'
    used.mkdir()
    (used / 'x').write_text('')
    result = check(used, '--dry-run')
    assert result.returncode == 2 and 'is not empty' in result.stderr
    result = check(tmp_path / 'new', wheels=tmp_path / 'absent')
    assert result.returncode == 2
    assert 'benchmarks/gpu/prepare.sh' in result.stderr
