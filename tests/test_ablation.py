"""benchmarks/ablation.py at CI size: the tables and plot are well formed."""
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import PYTHON, ROOT


@pytest.mark.slow
def test_ablation_tables(tmp_path):
    result = subprocess.run(
        [PYTHON, 'benchmarks/ablation.py', '--quick', '--stage2', '1',
         '--work-dir', str(tmp_path), '--data-seeds', '3', '4',
         '--train-seeds', '0', '1', '--variants', 'cam', 'rcm_mam'],
        cwd=ROOT, capture_output=True, text=True)
    # the two data seeds ran in parallel, each tool's output in its log
    logs = [tmp_path / f'data{seed}.log' for seed in (3, 4)]
    assert result.returncode == 0, result.stdout[-3000:] + ''.join(
        log.read_text()[-3000:] for log in logs if log.exists())
    for log in map(Path.read_text, logs):
        assert 'Saving checkpoint at 4 iterations' in log
        # tools/test.py scores the checkpoints: no validation in training
        assert 'Iter(test)' in log and 'Iter(val)' not in log
    report = json.load(open(tmp_path / 'ablation.json'))
    assert [(r['data_seed'], r['variant'], r['train_seed'])
            for r in report['runs']] == [
        (seed, variant, train_seed) for seed in (3, 4)
        for train_seed in (0, 1) for variant in ('cam', 'rcm_mam')]
    for run in report['runs']:
        # stage 2 only for the training seed listed after --stage2
        assert ('stage2_mIoU' in run) == (run['train_seed'] == 1)
        assert run['s_per_iter'] > 0
        # seeds at val's best threshold, CRF masks at val's best after CRF,
        # each scored on train by its own test
        work_dir = (tmp_path / f"data{run['data_seed']}" /
                    f"{run['variant']}_seed{run['train_seed']}")
        val = json.load(open(work_dir / 'val' / 'test_metrics.json'))
        assert run['threshold'] == val['cam/oracle_threshold']
        assert run['crf_threshold'] == val['cam/crf_oracle_threshold']
        seed = json.load(open(work_dir / 'train' / 'test_metrics.json'))
        crf = json.load(open(work_dir / 'train_crf' / 'test_metrics.json'))
        assert seed['cam/threshold'] == run['threshold']
        assert crf['cam/threshold'] == run['crf_threshold']
        assert run['seed_mIoU'] == seed['cam/mIoU'] > 0
        assert run['crf_mIoU'] == crf['cam/crf_mIoU'] > 0
        if 'stage2_mIoU' in run:
            masks = json.load(open(work_dir / 'pseudo_labels.json'))
            assert masks['bg_threshold'] == run['crf_threshold']
            assert masks['crf'] and run['stage2_mIoU'] > 0
    summary = report['summary']
    ratio = summary['rcm_mam']['seed_mIoU']['mean'] / summary['cam'][
        'seed_mIoU']['mean']
    for variant, stats in summary.items():
        seeds = [r['seed_mIoU'] for r in report['runs']
                 if r['variant'] == variant]
        assert stats['seed_mIoU']['mean'] == pytest.approx(
            sum(seeds) / 4, abs=0.01)
        assert stats['seed_mIoU']['n'] == 4
        assert stats['stage2_mIoU']['n'] == 2
    # each variant minus the cam run of the same data and training seed
    diffs = rcm_mam_minus_cam(report['runs'], 'seed_mIoU')
    paired = report['paired_with_cam']['rcm_mam']['seed_mIoU']
    assert paired['mean'] == pytest.approx(sum(diffs) / 4, abs=0.01)
    # the sample standard deviation
    assert paired['std'] == pytest.approx(np.std(diffs, ddof=1), abs=0.01)
    assert paired['per_data_seed']['3'] == pytest.approx(
        sum(diffs[:2]) / 2, abs=0.01)
    assert list(report['paired_with_cam']) == ['rcm_mam']
    # stage 2 is paired where both runs have it: training seed 1
    diffs2 = rcm_mam_minus_cam(report['runs'], 'stage2_mIoU')
    paired2 = report['paired_with_cam']['rcm_mam']['stage2_mIoU']
    assert len(diffs2) == paired2['n'] == 2
    assert paired2['mean'] == pytest.approx(sum(diffs2) / 2, abs=0.01)
    table = open(tmp_path / 'ablation.md').read().splitlines()
    assert table[0].startswith(
        '| variant | seed_mIoU | crf_mIoU | stage2_mIoU |')
    assert table[2].startswith('| cam | ') and table[3].startswith(
        '| rcm_mam | ')
    assert 'sample std (ddof=1)' in table[5]
    assert 'seed_mIoU 4, crf_mIoU 4, stage2_mIoU 2' in table[5]
    assert 'CRF masks at the threshold chosen on val after CRF' in table[5]
    assert table[7].startswith(
        '| variant | seed mIoU x cam | seed_mIoU - cam | crf_mIoU - cam | '
        'stage2_mIoU - cam | seed_mIoU - cam per data seed |')
    assert table[9].startswith(
        f"| rcm_mam | {ratio:.3f} | {paired['mean']:+.2f} ± "
        f"{paired['std']:.2f} (n 4) | ")
    assert (tmp_path / 'ablation.png').stat().st_size > 1000


def rcm_mam_minus_cam(runs: list, key: str) -> list:
    """``key`` of each rcm_mam run minus that of the cam run with the same
    data and training seed, for the runs that have ``key``."""
    cam = {(r['data_seed'], r['train_seed']): r for r in runs
           if r['variant'] == 'cam'}
    return [r[key] - cam[r['data_seed'], r['train_seed']][key]
            for r in runs if r['variant'] == 'rcm_mam' and key in r]
