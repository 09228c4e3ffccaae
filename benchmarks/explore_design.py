"""Small design-space exploration of RCM and MAM on the held-out split.

    python benchmarks/explore_design.py [--work-dir work_dirs/ablation]
        [--data-seed 0] [--designs NAME ...] [--iters 150]
        [--warmup-iters 1500] [--cfg-options KEY=VALUE ...]

Each design below changes one or two things of the paper's RCM / MAM and
continues the plain-CAM warm-up of the data seed (the same run and schedule
as ``benchmarks/ablation.py``, whose work dir it shares) for the same
iterations. It is scored on ``val`` only, at the best background threshold
there: ``val`` chooses designs and thresholds, ``train`` is the split the
ablation reports. Writes WORK_DIR/explore_data<seed>.{json,md} (with
``_<N>iters`` before the extension for ``--iters N`` other than 150): every
design tried, its config overrides and its scores (designs run earlier into
the same files are kept). Runs are kept: a re-run resumes.
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict, List, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from benchmarks.ablation import (Ablation, add_stage1_options,  # noqa: E402
                                 iteration_time)
from projects.rcm_mam.models.cam_utils import CAM_AGGREGATIONS  # noqa
from projects.rcm_mam.utils.cli import run  # noqa: E402
from projects.rcm_mam.utils.file_io import atomic_write, dump_json  # noqa

# the paper's RCM and MAM, as written; every design states all fields, so
# that it does not depend on the defaults of the configs
RCM = dict(loss_weight=1.0, fg_threshold=0.3, bg_threshold=None,
           temperature=2.0, memory_size=0, skip_missed=None)
MAM = dict(relu=False, normalise=False, skip_missed=None, loss_weight=1.0)


def rcm(**changes) -> List[str]:
    """``--cfg-options`` of the paper's RCM with ``changes``."""
    return [f'model.rcm_loss.{k}={v}' for k, v in {**RCM, **changes}.items()]


def mam(**changes) -> List[str]:
    """``--cfg-options`` of the paper's MAM with ``changes``."""
    return [f'model.mam_loss.{k}={v}' for k, v in {**MAM, **changes}.items()]


RELU_NORM = dict(relu=True, normalise=True)
BAND = dict(bg_threshold=0.1, fg_threshold=0.4)
LOW = dict(bg_threshold=0.05, fg_threshold=0.4)
ITERS = 150  # the ablation's stage
# the options that lost on val (benchmarks/rcm_mam_variants.py)
VARIANTS = 'custom_imports.imports=[projects.rcm_mam,' \
    'benchmarks.rcm_mam_variants]'
SCALE_ONE_BN = [VARIANTS, 'model.type=ScaleOneBNStatsCAMNet']
RAMP = [VARIANTS, 'model.type=RampedCAMNet', f'model.ramp_iters={ITERS}']
CONTRAST_HEAD = [VARIANTS, 'model.main_net.type=ContrastHeadCAMNet']
# RCM's pixel labels from other sources than SupportNet's CAMs
# (benchmarks/rcm_labels.py): the ground-truth masks of train_aug (a
# diagnostic, not a method) and SupportNet's CAM refined by dense CRF
LABELS = 'custom_imports.imports=[projects.rcm_mam,benchmarks.rcm_labels]'
GT_LABELS = [
    LABELS, 'model.type=GTLabelCAMNet', 'model.train_cfg.support_scales=[1.0]',
    'train_dataloader.dataset.pipeline.0.type=LoadImageAndGT']
CRF_LABELS = [LABELS, 'model.type=CRFLabelCAMNet']


def skipping(missed: str) -> Dict[str, Tuple[str, List[str]]]:
    """RCM, MAM and both, as the designs before them, with
    ``skip_missed=missed``: no RCM pseudo labels (image) and no MAM target
    (class) where SupportNet misses a labelled class (on data seed 1 the
    cat and bird CAMs died: their all-background pseudo labels trained
    them away). ``'unlocated'`` lost on val: its losses are in
    benchmarks/rcm_mam_variants.py."""
    rcm_options = rcm(loss_weight=0.1, **LOW, skip_missed=missed)
    mam_options = mam(**RELU_NORM, loss_weight=0.1, skip_missed=missed)
    if missed == 'unlocated':
        rcm_options += [VARIANTS, 'model.rcm_loss.type=UnlocatedRCMLoss']
        mam_options += [VARIANTS, 'model.mam_loss.type=UnlocatedMAMLoss']
    return {
        f'rcm 0.1 band 0.05-0.4, skip {missed}': ('rcm', rcm_options),
        f'mam relu-norm 0.1, skip {missed}': ('mam', mam_options),
        f'rcm 0.1 band 0.05-0.4 + mam relu-norm 0.1, skip {missed}': (
            'rcm_mam', rcm_options + mam_options),
    }


def aggregations(name: str, variant: str,
                 options: List[str]) -> Dict[str, Tuple[str, List[str]]]:
    """The design ``name`` with each ``model.cam_aggregation``."""
    return {f'{name}, {order.replace("_", " ")}': (
        variant, options + [f'model.cam_aggregation={order}'])
        for order in CAM_AGGREGATIONS}


# name: (variant config configs/synthetic/<variant>_r18_synthetic.py, its
# --cfg-options); in the order tried
DESIGNS = {
    'cam': ('cam', []),
    'literal (rcm 1, mam raw 1)': ('rcm_mam', rcm() + mam()),
    'rcm 1 + mam relu-norm 0.3': (
        'rcm_mam', rcm() + mam(**RELU_NORM, loss_weight=0.3)),
    'rcm 0.1': ('rcm', rcm(loss_weight=0.1)),
    'rcm 0.1, T 10': ('rcm', rcm(loss_weight=0.1, temperature=10.0)),
    'rcm 0.1, ignore band 0.1-0.4': ('rcm', rcm(loss_weight=0.1, **BAND)),
    'rcm 0.1, memory 8': ('rcm', rcm(loss_weight=0.1, memory_size=8)),
    'mam relu-norm 0.1': ('mam', mam(**RELU_NORM, loss_weight=0.1)),
    'rcm 0.1 + mam relu-norm 0.1': (
        'rcm_mam', rcm(loss_weight=0.1) + mam(**RELU_NORM, loss_weight=0.1)),
    'rcm 0.1 band, contrast head': (
        'rcm', rcm(loss_weight=0.1, **BAND) + CONTRAST_HEAD),
    'rcm 0.1 band + mam relu-norm 0.1': (
        'rcm_mam', rcm(loss_weight=0.1, **BAND) +
        mam(**RELU_NORM, loss_weight=0.1)),
    # linear warm-up ramps over the whole stage, to carry larger weights
    'rcm 0.3 band, ramp': ('rcm', rcm(loss_weight=0.3, **BAND) + RAMP),
    'rcm 1 band, ramp': ('rcm', rcm(loss_weight=1.0, **BAND) + RAMP),
    'mam relu-norm 0.3, ramp': (
        'mam', mam(**RELU_NORM, loss_weight=0.3) + RAMP),
    'rcm 0.3 band + mam relu-norm 0.3, ramp': (
        'rcm_mam', rcm(loss_weight=0.3, **BAND) +
        mam(**RELU_NORM, loss_weight=0.3) + RAMP),
    # RCM's background below the seed thresholds val picks (0.05 to 0.1)
    'rcm 0.1, ignore band 0.05-0.4': ('rcm', rcm(loss_weight=0.1, **LOW)),
    'rcm 0.1 band 0.05-0.4 + mam relu-norm 0.1': (
        'rcm_mam', rcm(loss_weight=0.1, **LOW) +
        mam(**RELU_NORM, loss_weight=0.1)),
    # RCM's foreground near the seed thresholds too: more of each object's
    # body is pulled to its class prototype, not ignored
    'rcm 0.1, ignore band 0.05-0.2': (
        'rcm', rcm(loss_weight=0.1, bg_threshold=0.05, fg_threshold=0.2)),
    'rcm 0.1, ignore band 0.05-0.1': (
        'rcm', rcm(loss_weight=0.1, bg_threshold=0.05, fg_threshold=0.1)),
    # a lighter MAM, against its cost on data seed 1 (alone and with RCM)
    'mam relu-norm 0.03': ('mam', mam(**RELU_NORM, loss_weight=0.03)),
    'rcm 0.1 band 0.05-0.4 + mam relu-norm 0.03': (
        'rcm_mam', rcm(loss_weight=0.1, **LOW) +
        mam(**RELU_NORM, loss_weight=0.03)),
    # MAM's rescaled MainNet passes leave BatchNorm's running statistics
    # (which SupportNet copies and inference uses) to the scale-1 pass
    'mam relu-norm 0.1, BN stats scale 1': (
        'mam', mam(**RELU_NORM, loss_weight=0.1) + SCALE_ONE_BN),
    'rcm 0.1 band 0.05-0.4 + mam relu-norm 0.1, BN stats scale 1': (
        'rcm_mam', rcm(loss_weight=0.1, **LOW) +
        mam(**RELU_NORM, loss_weight=0.1) + SCALE_ONE_BN),
    **skipping('unlocated'),
    **skipping('unrecognised'),
    # how far RCM could lift the CAM if its pixel labels were right
    'rcm 0.1 band 0.05-0.4, ground-truth labels': (
        'rcm', rcm(loss_weight=0.1, **LOW) + GT_LABELS),
    'rcm 1 band 0.05-0.4, ground-truth labels': (
        'rcm', rcm(loss_weight=1.0, **LOW) + GT_LABELS),
    # better labels without ground truth: SupportNet's CAM after dense CRF
    'rcm 0.1 band 0.05-0.4, CRF labels': (
        'rcm', rcm(loss_weight=0.1, **LOW) + CRF_LABELS),
    'rcm 1 band 0.05-0.4, CRF labels': (
        'rcm', rcm(loss_weight=1.0, **LOW) + CRF_LABELS),
    # the same labels with MAM, whose target is then their class fractions
    'rcm 0.1 band 0.05-0.4 + mam relu-norm 0.1, CRF labels': (
        'rcm_mam', rcm(loss_weight=0.1, **LOW) +
        mam(**RELU_NORM, loss_weight=0.1) + CRF_LABELS),
    # each module of the literal design alone (the pretrained regime)
    'rcm literal': ('rcm', rcm()),
    'mam literal': ('mam', mam()),
}
# the order of ReLU and the sum over scales and flips, in inference and in
# RCM's pixel labels (the designs above: sum first in inference, ReLU first
# in RCM), for the plain CAM and the configs' RCM + MAM
CHOSEN = 'rcm 0.1 band 0.05-0.4 + mam relu-norm 0.1, skip unrecognised'
DESIGNS.update({**aggregations('cam', *DESIGNS['cam']),
                **aggregations(CHOSEN, *DESIGNS[CHOSEN])})


def authors(**parts: List[str]) -> Dict[str, Tuple[str, List[str]]]:
    """The authors' recipe (configs/synthetic/
    rcm_mam_r18_synthetic_authors.py, run with ``--warmup-config
    configs/synthetic/rcm_r18_synthetic_authors.py``) with one part at a
    time set to the project's default."""
    return {'authors' + (f', {part}' if part else ''): (
        'rcm_mam_authors', options) for part, options in parts.items()}


# each part of the authors' recipe set to the default's choice
DESIGNS.update(authors(**{
    '': [],
    'MAM plain mean (model_MM_RCM)': ['model.mam_loss.attention=none'],
    'RCM and MAM at the feature map': [
        'model.train_cfg.loss_resolution=feature'],
    "today's RCM labels (band 0.05-0.4, skip)": [
        'model.rcm_loss.bg_threshold=0.05', 'model.rcm_loss.fg_threshold=0.4',
        'model.rcm_loss.skip_missed=unrecognised'],
    'multi-scale prototypes': ['model.rcm_loss.prototype_cams=multi_scale'],
    'unavailable classes ignored': ['model.rcm_loss.unavailable=ignore'],
    "today's MAM (relu-norm, scale-1 weights, skip)": [
        'model.mam_loss.label_mask=False', 'model.mam_loss.normalise=True',
        'model.mam_loss.attention=scale_one',
        'model.mam_loss.reduction=labelled',
        'model.mam_loss.skip_missed=unrecognised'],
    'loss weights 0.1': ['model.rcm_loss.loss_weight=0.1',
                         'model.mam_loss.loss_weight=0.1'],
    'momentum 0.9, 10x head': [
        'optim_wrapper.optimizer.momentum=0.9',
        'optim_wrapper.paramwise_cfg.custom_keys.projection.lr_mult=10.0',
        'optim_wrapper.paramwise_cfg.custom_keys.classifier.lr_mult=10.0'],
    'memory 5 (replace)': ['model.rcm_loss.memory_size=5'],
    "today's BN (affine weights train)": [
        'model.main_net.backbone.norm_cfg.requires_grad=True'],
}))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default='work_dirs/ablation')
    parser.add_argument('--data-seed', type=int, default=0)
    parser.add_argument('--designs', nargs='+', default=list(DESIGNS),
                        choices=DESIGNS)
    parser.add_argument('--warmup-iters', type=int, default=1500)
    parser.add_argument('--iters', type=int, default=ITERS,
                        help='iterations of each design after warm-up')
    add_stage1_options(parser)
    return parser.parse_args()


def suffix(iters: int) -> str:
    """Run and file name suffix of a stage length other than the
    ablation's."""
    return '' if iters == ITERS else f'_{iters}iters'


def design_run(ablation: Ablation, name: str) -> tuple:
    """The design's run from its warm-up checkpoint, trained unless done.

    Returns:
        tuple: Its config, final checkpoint and work dir, and the
        ``--cfg-options`` its tests need: the data's, the shared ones and
        the design's own (some, like ``model.cam_aggregation``, act in
        inference too).
    """
    variant, options = DESIGNS[name]
    config, checkpoint, work_dir = ablation.continue_from(
        f'explore{list(DESIGNS).index(name)}' +
        suffix(ablation.iters), variant, options)
    return config, checkpoint, work_dir, ablation.options() + options


def explore(ablation: Ablation, names: List[str]) -> List[Dict]:
    """Train and score each named design; one row each."""
    rows = []
    for name in names:
        config, checkpoint, work_dir, test_options = design_run(
            ablation, name)
        val = ablation.stages.test_val(config, checkpoint, work_dir,
                                       test_options)
        variant, options = DESIGNS[name]
        rows.append(dict(
            design=name, variant=variant, options=options,
            val_mIoU=val['cam/oracle_mIoU'],
            threshold=val['cam/oracle_threshold'], mAP=val['multi-label/mAP'],
            s_per_iter=iteration_time(work_dir)))
    return rows


def merge(rows: List[Dict], path: str) -> List[Dict]:
    """``rows`` plus the other designs' rows already in ``path``, in the
    order of ``DESIGNS``."""
    by_name = {}
    if osp.exists(path):
        with open(path) as f:
            by_name = {r['design']: r for r in json.load(f)['designs']}
    by_name.update({r['design']: r for r in rows})
    return [by_name[name] for name in DESIGNS if name in by_name]


def report(rows: List[Dict], args: argparse.Namespace,
           work_dir: str) -> None:
    """Write the rows, with the settings every design shared, as JSON and
    Markdown."""
    out = osp.join(work_dir,
                   f'explore_data{args.data_seed}{suffix(args.iters)}')
    rows = merge(rows, out + '.json')
    dump_json(dict(split='val', data_seed=args.data_seed, iters=args.iters,
                   warmup_iters=args.warmup_iters,
                   warmup_config=args.warmup_config,
                   cfg_options=args.cfg_options, designs=rows),
              out + '.json')
    lines = ['| design | val seed mIoU | threshold | mAP | s/iter |',
             '|---|---|---|---|---|'] + [
        f"| {r['design']} | {r['val_mIoU']:.2f} | {r['threshold']:g} | "
        f"{r['mAP']:.1f} | {r['s_per_iter']:.2f} |" for r in rows]
    text = '\n'.join(lines) + '\n'
    print('\n' + text)
    atomic_write(out + '.md',
                 lambda tmp: open(tmp, 'w').write(text))


def main() -> None:
    args = parse_args()
    ablation = Ablation(args.work_dir, args.data_seed, args.warmup_iters,
                        args.iters, args.cfg_options, args.warmup_config)
    report(explore(ablation, args.designs), args, ablation.stages.work_dir)


if __name__ == '__main__':
    run(main)
