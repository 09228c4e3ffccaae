"""tools/run_pipeline.py at test size: the table, its files, a re-run."""
import glob
import json
import os
import os.path as osp
import shutil
import subprocess

import pytest

from conftest import PYTHON, ROOT
from projects.rcm_mam.utils.command_record import claim_command
from projects.rcm_mam.utils.errors import InputError
from tools.run_pipeline import REFINEMENTS

ITERS = ['train_cfg.max_iters=4', 'param_scheduler.0.end=4',
         'default_hooks.checkpoint.interval=4', 'default_hooks.logger.'
         'interval=1', 'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False']
STAGE1 = ITERS + ['model.test_cfg.scales=[1.0]', 'model.test_cfg.flip=False']
# the default stage-1 runs: the authors' RCM stage, then RCM + MAM, as tuned
RCM, RCM_MAM = (f'stage1_{i}_{name}_r18_synthetic_authors_tuned'
                for i, name in enumerate(('rcm', 'rcm_mam')))


def pipeline(voc_root, work_dir, *flags, options=(),
             fails=False) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [PYTHON, 'tools/run_pipeline.py', '--data-root', voc_root,
         '--work-dir', str(work_dir), *flags, '--cfg-options', *STAGE1,
         *options, '--stage2-cfg-options', *ITERS], cwd=ROOT,
        capture_output=True, text=True)
    assert (result.returncode != 0) == fails, result.stdout[
        -3000:] + result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_pipeline_table_and_stage2_test_agree(tmp_path, voc_root):
    # paths with spaces, as on shared clusters
    voc_root = shutil.copytree(voc_root, str(tmp_path / 'my data' / 'VOC'))
    work = tmp_path / 'pipe line'
    result = pipeline(voc_root, work, '--refine', 'none')
    assert 'No artists with labels' not in result.stderr  # no empty panel
    summary = json.load(open(work / 'summary.json'))
    rows = {r['stage']: r for r in summary['rows']}
    assert list(rows)[0] == 'data' and 'train stage 2 (DeepLabV3)' in rows
    # train is scored at the background threshold that is best on val
    val = json.load(open(work / RCM_MAM / 'val' /
                         'test_metrics.json'))
    assert rows['CAM (seed) mIoU on val, best threshold']['mIoU'] == max(
        val['cam/curve'].values())
    threshold = val['cam/oracle_threshold']
    assert summary['bg_threshold'] == threshold and not summary['crf']
    assert summary['data_seed'] is None  # the user's --data-root
    seed = rows[f'CAM (seed) mIoU on train at threshold {threshold:g}']
    # ... and so are the pseudo masks (without CRF, whatever the config
    # says), made once: the RCM + MAM training does not run its
    # PseudoLabelHook, which would write them at the config's threshold
    masks = 'pseudo masks mIoU on train'
    assert rows[masks]['mIoU'] == pytest.approx(seed['mIoU'], abs=0.01)
    assert '--no-crf' in json.load(open(
        work / 'pseudo_masks' / 'make_pseudo_labels_command.json'))[
            'arguments']
    assert json.load(open(work / 'pseudo_masks' / 'pseudo_labels.json'))[
        'bg_threshold'] == threshold
    assert result.stdout.count(
        'Pseudo labels of ImageSets/Segmentation/train_aug.txt') == 1
    assert not (work / RCM_MAM /
                'pseudo_labels').exists()
    for stage in (masks, 'stage 2 mIoU on val'):
        assert 0 <= rows[stage]['mIoU'] <= 100, stage
    table = open(work / 'summary.md').read()
    stage2 = rows['stage 2 mIoU on val']['mIoU']
    assert f'| stage 2 mIoU on val | {stage2:.2f} |' in table
    assert osp.getsize(work / 'losses.png') > 1000
    # the user's own tools/test.py on the stage-2 model prints the same mIoU
    checkpoint = open(work / 'stage2' / 'done').read().strip()
    result = subprocess.run(
        [PYTHON, 'tools/test.py',
         'configs/synthetic/deeplabv3_r18_synthetic_pseudo.py', checkpoint,
         '--work-dir', str(tmp_path / 'test'), '--cfg-options',
         f'test_dataloader.dataset.data_root={voc_root}'],
        cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f'mIoU: {stage2:.4f}' in result.stdout + result.stderr
    # a re-run finds every stage done and reports the same table
    again = pipeline(voc_root, work, '--refine', 'none')
    assert 'tools/train.py' not in again.stdout
    rerun = json.load(open(work / 'summary.json'))['rows']
    assert [r['mIoU'] for r in rerun] == [r['mIoU'] for r in summary['rows']]
    # ... but not with other options: their outputs would not match
    other = pipeline(voc_root, work, '--refine', 'none',
                     options=['optim_wrapper.optimizer.lr=0.002'],
                     fails=True)
    assert 'tools/train.py' not in other.stdout
    assert f'tools/train.py output in {work / RCM}' \
        ' was made with another config or other arguments' in other.stderr
    # ... naming every output made from it, as stale as it
    later = [work / RCM_MAM, work / RCM_MAM / 'val',
             work / RCM_MAM / 'cam_test', work / 'pseudo_masks',
             work / 'stage2', work / 'stage2' / 'test']
    assert 'The outputs made from it are stale too: ' + ', '.join(
        map(str, later)) + '; remove them as well.' in other.stderr
    assert 'Traceback' not in other.stderr


@pytest.mark.slow
def test_pipeline_crf_threshold_is_chosen_after_crf(tmp_path, voc_root):
    """The default, --refine crf: the masks use CRF, so their threshold
    is chosen after it and the rows say so."""
    work = tmp_path / 'pipe'
    pipeline(voc_root, work)
    summary = json.load(open(work / 'summary.json'))
    rows = {r['stage']: r['mIoU'] for r in summary['rows']}
    val = json.load(open(work / RCM_MAM / 'val' /
                         'test_metrics.json'))
    assert rows['CAM + CRF mIoU on val, best threshold'] == max(
        val['cam/crf_curve'].values())
    threshold = val['cam/crf_oracle_threshold']
    assert summary['bg_threshold'] == threshold and summary['crf']
    assert f'CAM (seed) mIoU on train at threshold {threshold:g}' in rows
    # the pseudo masks are the CRF masks scored on train at that threshold
    assert rows['pseudo masks mIoU on train (CRF)'] == pytest.approx(
        rows['CAM + CRF mIoU on train'], abs=0.01)
    masks = json.load(open(work / 'pseudo_masks' / 'pseudo_labels.json'))
    assert masks['crf']


def logged_losses(work_dir) -> set:
    """The loss names a training logged in its scalars.json."""
    (log, ) = glob.glob(f'{work_dir}/*/vis_data/scalars.json')
    return {key for line in open(log) for key in json.loads(line)
            if key.startswith('loss_')}


@pytest.mark.slow
def test_pipeline_runs_the_authors_recipe(tmp_path, voc_root):
    work = tmp_path / 'pipe'
    stages = [f'configs/synthetic/{name}_r18_synthetic_authors.py'
              for name in ('rcm', 'rcm_mam')]
    pipeline(voc_root, work, '--stage1-configs', *stages, '--refine',
             'none')
    rcm, rcm_mam = (work / f'stage1_{i}_{name}_r18_synthetic_authors'
                    for i, name in enumerate(('rcm', 'rcm_mam')))
    # the RCM stage from the pretrained backbone, then RCM + MAM from it
    assert logged_losses(rcm) == {'loss_cls', 'loss_rcm'}
    assert logged_losses(rcm_mam) == {'loss_cls', 'loss_rcm', 'loss_mam'}
    record = json.load(open(rcm_mam / 'train_command.json'))
    assert f'load_from={open(rcm / "done").read().strip()}' in record[
        'arguments']
    rows = {r['stage']: r['mIoU'] for r in json.load(
        open(work / 'summary.json'))['rows']}
    assert 0 < rows['stage 2 mIoU on val'] <= 100


def test_claim_tells_a_retrained_checkpoint_from_the_old_one(tmp_path):
    """A retrained iter_N.pth has the same path: its content counts."""
    ckpt = str(tmp_path / 'iter_4.pth')
    args = [osp.join(ROOT, 'configs/synthetic/cam_r18_synthetic.py'), ckpt]
    work_dir = str(tmp_path / 'test')
    open(ckpt, 'w').write('first training')
    claim_command(work_dir, 'test', args, 1, False)
    claim_command(work_dir, 'test', args, 1, True)  # the same
    open(ckpt, 'w').write('retrained')
    with pytest.raises(InputError, match='was made with another config or '
                       'other arguments'):
        claim_command(work_dir, 'test', args, 1, True)


def test_claim_tells_remade_pseudo_masks_from_the_old_ones(tmp_path):
    """Masks made again (other threshold) keep the folder's path: stage 2
    and its test must not reuse what the old masks trained."""
    masks = tmp_path / 'pseudo_labels'
    masks.mkdir()
    (masks / 'generation.json').write_text('{"bg_threshold": 0.3}')
    args = [osp.join(ROOT, 'configs/synthetic/deeplabv3_r18_synthetic_'
                     'pseudo.py'),
            f'train_dataloader.dataset.data_prefix.seg_map_path={masks}']
    for script in ('train', 'test'):
        work_dir = str(tmp_path / script)
        claim_command(work_dir, script, args, 1, False)
    (masks / 'new.json').write_text('{"bg_threshold": 0.1}')
    os.replace(masks / 'new.json', masks / 'generation.json')  # atomic
    for script in ('train', 'test'):
        with pytest.raises(InputError, match=f'tools/{script}.py output in '
                           '.* was made with another config or other'):
            claim_command(str(tmp_path / script), script, args, 1, True)


@pytest.mark.parametrize('config, gpus, per_gpu', [
    ('cam_r50_voc', 1, None), ('cam_r50_voc', 8, 1), ('cam_r50_voc', 2, 4),
    ('deeplabv3_r101_voc_pseudo', 8, 2), ('deeplabv3_r101_voc_pseudo', 1,
                                          16), ('deeplabv3_r101_voc_pseudo',
                                                4, None),
    ('cam_r50_coco', 8, 2), ('deeplabv3_r101_coco_pseudo', 8, 2)])
def test_runner_splits_the_total_batch_over_gpus(tmp_path, monkeypatch,
                                                config, gpus, per_gpu):
    """Stage 1 trains at 8 in all, stage 2 at 16 (mmseg's 4 x 4) whatever
    the GPUs; COCO's stage 1 at 16. No option where the config's per-GPU
    batch is the share already."""
    from tools.pipeline import StageRunner
    calls = []
    stages = StageRunner(str(tmp_path), gpus=gpus)
    monkeypatch.setattr(stages, 'tool', lambda *a, **k: calls.append(a))
    for name, options in (('split', ['x=1']),
                          ('given', ['train_dataloader.batch_size=3'])):
        work_dir = tmp_path / name
        work_dir.mkdir()
        (work_dir / 'last_checkpoint').write_text('iter_1.pth')
        stages.train(f'configs/{config}.py', str(work_dir), options)
    assert calls[0][2][-1] == (f'train_dataloader.batch_size={per_gpu}'
                               if per_gpu else 'x=1')
    # a per-GPU batch the user gives is kept
    assert calls[1][2][-1] == 'train_dataloader.batch_size=3'


def test_runner_refuses_a_batch_that_does_not_divide(tmp_path):
    from tools.pipeline import StageRunner
    stages = StageRunner(str(tmp_path), gpus=3)
    with pytest.raises(InputError, match='its total batch of 8 does not '
                       'divide over --gpus 3'):
        stages.train('configs/cam_r50_voc.py', str(tmp_path / 'run'), [])


@pytest.mark.slow
def test_pipeline_refines_the_seeds_with_irn(tmp_path, voc_root):
    work = tmp_path / 'pipe'
    pipeline(voc_root, work, '--stage1-configs',
             'configs/synthetic/cam_r18_synthetic.py', '--refine', 'irn',
             '--refine-cfg-options', 'train_cfg.max_iters=2',
             'param_scheduler.0.end=2', 'train_dataloader.batch_size=2',
             'train_dataloader.num_workers=0',
             'train_dataloader.persistent_workers=False',
             'model.data_preprocessor.size=(64,64)',
             'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
             'custom_hooks.0.steps=16', 'custom_hooks.0.num_workers=0')
    summary = json.load(open(work / 'summary.json'))
    rows = {r['stage']: r['mIoU'] for r in summary['rows']}
    assert summary['refine'] == 'irn'
    labels = work / 'confident_labels' / 'ir_labels'
    assert json.load(open(labels / 'generation.json'))['complete']
    masks = json.load(open(work / 'refine_irn' / 'irn_labels.json'))
    assert rows['irn masks mIoU on train at bg_threshold 0.25'] == \
        masks['mIoU']
    # the walk's background score is the best on val ...
    sweep = REFINEMENTS['irn']['sweep']
    curve = {t: json.load(open(work / 'refine_irn' / f'val_bg_threshold_{t}'
                               / 'irn_labels.json')) for t in sweep}
    assert all(c['split'].endswith('val.txt') for c in curve.values())
    threshold = summary['walk']['bg_threshold']
    assert curve[threshold]['mIoU'] == max(c['mIoU'] for c in curve.values())
    assert rows[f'irn masks mIoU on val, best bg_threshold ({threshold:g})'
                ] == curve[threshold]['mIoU']
    # ... and stage 2 trained on the masks of train_aug at it
    folder = work / 'refine_irn' / (
        'irn_labels' if threshold == 0.25 else
        f'train_aug_bg_threshold_{threshold}/irn_labels')
    assert json.load(open(str(folder) + '.json'))['bg_threshold'] == \
        threshold
    record = json.load(open(work / 'stage2' / 'train_command.json'))
    assert f'train_dataloader.dataset.data_prefix.seg_map_path={folder}' \
        in record['arguments']
    assert 0 < rows['stage 2 mIoU on val'] <= 100
