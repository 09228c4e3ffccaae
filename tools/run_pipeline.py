"""From image labels to a segmentation model in one command.

    python tools/run_pipeline.py [--data-root DIR] [--work-dir DIR]
        [--stage1-configs CFG [CFG ...]] [--stage2-config CFG]
        [--gpus N] [--refine {none,crf,irn,affinitynet}] [--refine-config CFG]
        [--refine-cfg-options KEY=VALUE ...]

Stages, each a call of the project's tools and each skipped when its
output exists (a killed pipeline re-run resumes; training resumes from its
last checkpoint). Each output folder records the tool's arguments and a
hash of its config in ``<tool>_command.json``; a re-run with another
config or other options stops with an error instead of reusing outputs
that no longer match:

1. data: the synthetic VOC set
   (tools/dataset_converters/make_synthetic_voc.py) unless ``--data-root``
   is given;
2. stage 1: train each ``--stage1-configs`` config in turn, each starting
   from the previous one's checkpoint (by default the authors' staging as
   ``val`` tuned it: classification + RCM from the pretrained backbone,
   then RCM + MAM), none writing pseudo masks after training (step 4 makes
   them);
3. CAM mIoU: tools/test.py of the last stage-1 checkpoint on ``val``
   (background threshold sweep; after dense CRF too with ``--refine
   crf``, the default), then on ``train`` at ``val``'s best background
   threshold (the best after CRF with CRF), which the pseudo masks use
   too;
4. pseudo masks: tools/make_pseudo_labels.py (train_aug, into
   WORK_DIR/pseudo_masks; dense CRF with ``--refine crf``, none with
   ``--refine none``, whatever the stage-1 config says) and their mIoU;
   with ``--refine irn`` (or ``affinitynet``) instead a learned affinity's:
   the network's training labels and the CAMs
   (tools/make_pseudo_labels.py --confident [psa],
   WORK_DIR/confident_labels; the CAMs of val too), then the network
   (``--refine-config``, tools/train.py, WORK_DIR/refine_NAME), whose hook
   writes the random walk's masks with the authors' background setting
   (IRN's score 0.25, PSA's exponent 16); the setting is then chosen on
   val (tools/make_pseudo_labels.py with the network's config) and the
   masks of train_aug made with it;
5. stage 2: DeepLabV3 on the pseudo masks (tools/train.py);
6. test: tools/test.py of the stage-2 model on val.

The summary table (stage, mIoU, time) is printed and written to
WORK_DIR/summary.{json,md} (the JSON also holds the chosen threshold and
the synthetic set's seed; a work dir whose set was made with another seed
is refused), with
WORK_DIR/losses.png (training losses) and the CAM overlays in
WORK_DIR/pseudo_masks/cam_overlays.
"""
import argparse
import os.path as osp
import sys
from typing import Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from projects.rcm_mam.utils.cli import run  # noqa: E402
from projects.rcm_mam.utils.command_record import \
    StaleOutputError  # noqa: E402
from projects.rcm_mam.utils.errors import InputError  # noqa: E402
from projects.rcm_mam.utils.visualization import plot_losses  # noqa: E402
from tools.pipeline import (StageRunner, data_options,  # noqa: E402
                            walk_folder, without_pseudo_label_hook)

SYNTHETIC = 'configs/synthetic'
VAL = 'ImageSets/Segmentation/val.txt'
# the learned refinements: their config, training-label form, the walk's
# background setting with the authors' value and the values tried on val
REFINEMENTS = dict(
    irn=dict(config=f'{SYNTHETIC}/irn_r18_synthetic.py', labels='irn',
             setting='bg_threshold', default=0.25,
             sweep=(0.15, 0.2, 0.25, 0.3, 0.35, 0.45)),
    affinitynet=dict(config=f'{SYNTHETIC}/affinitynet_r18_synthetic.py',
                     labels='psa', setting='alpha', default=16,
                     sweep=(4, 8, 16, 24, 32)))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data-root', help='VOC2012 folder (default: make '
                        'the synthetic set in WORK_DIR/data)')
    parser.add_argument('--work-dir', default='work_dirs/pipeline')
    parser.add_argument(
        '--stage1-configs', nargs='+',
        default=[f'{SYNTHETIC}/rcm_r18_synthetic_authors_tuned.py',
                 f'{SYNTHETIC}/rcm_mam_r18_synthetic_authors_tuned.py'],
        help='CAM training stages, each initialised from the previous '
        "(default: the authors' RCM stage, then RCM + MAM, as val tuned "
        'them)')
    parser.add_argument(
        '--stage2-config',
        default=f'{SYNTHETIC}/deeplabv3_r18_synthetic_pseudo.py')
    parser.add_argument('--gpus', type=int, default=1,
                        help='processes per training (dist_train.sh if >1); '
                        "each config's batch is the total, split over them")
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the synthetic data')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='extra KEY=VALUE options for every stage-1 '
                        'tool run, e.g. model.test_cfg.flip=False')
    parser.add_argument('--stage2-cfg-options', nargs='+', default=[],
                        help='extra KEY=VALUE options for stage 2')
    parser.add_argument(
        '--refine', choices=['none', 'crf', *REFINEMENTS], default='crf',
        help='how the seeds become pseudo masks: not at all, dense CRF '
        '(whose background threshold is then chosen on val after CRF; the '
        'default: on the synthetic set it gave the best masks and stage 2, '
        "docs/refinement.md), or a learned affinity and random walk, IRN's "
        "boundary network or PSA's AffinityNet")
    parser.add_argument('--crf', action='store_const', const='crf',
                        dest='refine', help='the same as --refine crf')
    parser.add_argument(
        '--refine-config',
        help='the refinement network config (default: the synthetic one '
        'of --refine)')
    parser.add_argument('--refine-cfg-options', nargs='+', default=[],
                        help='extra KEY=VALUE options for --refine-config')
    return parser.parse_args()


def output_folders(args: argparse.Namespace, work_dir: str) -> dict:
    """The pipeline's output folders, by stage, in order."""
    train = [osp.join(work_dir, f'stage1_{i}_' +
                      osp.splitext(osp.basename(config))[0])
             for i, config in enumerate(args.stage1_configs)]
    stage2 = osp.join(work_dir, 'stage2')
    if args.refine in REFINEMENTS:
        masks = dict(
            confident=osp.join(work_dir, 'confident_labels'),
            confident_val=osp.join(work_dir, 'confident_labels_val'),
            refine=osp.join(work_dir, f'refine_{args.refine}'))
    else:
        masks = dict(masks=osp.join(work_dir, 'pseudo_masks'))
    return dict(train=train, val=osp.join(train[-1], 'val'),
                cam_test=osp.join(train[-1], 'cam_test'), **masks,
                stage2=stage2, stage2_test=osp.join(stage2, 'test'))


def main() -> None:
    args = parse_args()
    stages = StageRunner(args.work_dir, gpus=args.gpus)
    folders = output_folders(args, stages.work_dir)
    try:
        pipeline(args, stages, folders)
    except StaleOutputError as e:  # the stages after it came from it
        order = [*folders['train'], *list(folders.values())[1:]]
        later = [f for f in order[order.index(e.folder) + 1:]
                 if osp.isdir(f)] if e.folder in order else []
        raise InputError(str(e) + (
            ' The outputs made from it are stale too: ' + ', '.join(later) +
            '; remove them as well.' if later else '')) from None


def pipeline(args: argparse.Namespace, stages: StageRunner,
             folders: dict) -> None:
    """The six stages (see the module's docstring) into ``folders``."""
    work_dir = stages.work_dir

    # 1. data
    root = stages.stage('data', lambda: osp.abspath(
        args.data_root) if args.data_root else stages.make_synthetic_voc(
            osp.join(work_dir, 'data'), args.seed))
    options = data_options(root) + args.cfg_options

    # 2. stage 1, each config from the previous one's checkpoint
    checkpoint, train_dirs = None, folders['train']
    for config, train_dir in zip(args.stage1_configs, train_dirs):
        name = osp.splitext(osp.basename(config))[0]
        config = without_pseudo_label_hook(config, train_dir + '.py')
        start = [f'load_from={checkpoint}'] if checkpoint else []
        checkpoint = stages.stage(
            f'train {name}',
            lambda: stages.train(config, train_dir, options + start))

    # with CRF the masks' threshold is chosen after CRF
    crf = args.refine == 'crf'

    # 3. CAM mIoU on val, which chooses the background threshold, and on
    # train at that threshold
    val = stages.stage(
        'CAM (seed) mIoU on val, best threshold',
        lambda: stages.test_val(config, checkpoint, train_dirs[-1], options,
                                crf),
        lambda metrics: metrics['cam/oracle_mIoU'])
    stages.add_row('CAM + CRF mIoU on val, best threshold',
                   val.get('cam/crf_oracle_mIoU'))
    threshold = val['cam/crf_oracle_threshold' if crf else
                    'cam/oracle_threshold']
    options = options + [f'model.test_cfg.bg_threshold={threshold}']
    train = stages.stage(
        f'CAM (seed) mIoU on train at threshold {threshold:g}',
        lambda: stages.test_train(config, checkpoint, folders['cam_test'],
                                  options),
        lambda metrics: metrics['cam/mIoU'])
    stages.add_row('CAM + CRF mIoU on train', train.get('cam/crf_mIoU'))

    # 4. pseudo masks of train_aug: at that threshold, or IRN's
    walk = None
    if args.refine in REFINEMENTS:
        masks, walk = walk_masks(args, stages, folders, root, config,
                                 checkpoint, options)
    else:
        stages.stage(
            'pseudo masks mIoU on train' + (' (CRF)' if crf else ''),
            lambda: stages.pseudo_labels(config, checkpoint, folders['masks'],
                                         options, crf), float)
        masks = osp.join(folders['masks'], 'pseudo_labels')

    # 5. stage 2 on the pseudo masks and 6. its test on val
    stage2_dir = folders['stage2']
    options = data_options(root) + [
        f'train_dataloader.dataset.data_prefix.seg_map_path={masks}'
    ] + args.stage2_cfg_options
    checkpoint = stages.stage(
        'train stage 2 (DeepLabV3)',
        lambda: stages.train(args.stage2_config, stage2_dir, options))
    stages.stage(
        'stage 2 mIoU on val',
        lambda: stages.test(args.stage2_config, checkpoint,
                            folders['stage2_test'], options),
        lambda metrics: metrics['mIoU'])

    stages.summary(bg_threshold=threshold, crf=crf,
                   refine=args.refine,
                   walk=walk,
                   data_seed=None if args.data_root else args.seed)
    plot_losses(train_dirs + [stage2_dir], osp.join(work_dir, 'losses.png'))
    print(f'\nSummary, loss plot and CAM overlays in {work_dir}')


def walk_masks(args: argparse.Namespace, stages: StageRunner,
               folders: dict, root: str, config: str, checkpoint: str,
               options: list) -> Tuple[str, dict]:
    """A learned refinement (``REFINEMENTS[args.refine]``): its training
    labels and the CAMs, the network, its walk's background setting chosen
    on val and the masks of train_aug with it; the masks' folder and the
    chosen setting."""
    refinement = REFINEMENTS[args.refine]
    name = args.refine
    refine_config = args.refine_config or refinement['config']
    setting, default = refinement['setting'], refinement['default']
    labels = stages.stage(
        f'training labels and CAMs of train_aug ({name})',
        lambda: stages.confident_labels(config, checkpoint,
                                        folders['confident'], options,
                                        refinement['labels']))
    val_cams = stages.stage(
        f'CAMs of val ({name})',
        lambda: stages.confident_labels(
            config, checkpoint, folders['confident_val'],
            options + [f'pseudo_label_hook.ann_file={VAL}'],
            refinement['labels']))
    network, _ = stages.stage(
        f'{name} masks mIoU on train at {setting} {default:g}',
        lambda: stages.refine(refine_config, folders['refine'], root,
                              labels, args.refine_cfg_options),
        lambda result: result[1]['mIoU'])
    walk = [f'walk_dataset.data_root={root}', *args.refine_cfg_options]
    val = walk + [f'custom_hooks.0.cam_dir={val_cams}',
                  f'custom_hooks.0.ann_file={VAL}',
                  f'custom_hooks.0.eval_ann_file={VAL}']
    curve = {
        value: stages.walk_labels(
            refine_config, network,
            osp.join(folders['refine'], f'val_{setting}_{value}'),
            val + [f'custom_hooks.0.{setting}={value}'])['mIoU']
        for value in refinement['sweep']
    }
    best = max(curve, key=curve.get)
    stages.add_row(f'{name} masks mIoU on val, best {setting} ({best:g})',
                   curve[best])
    if best == default:
        folder = folders['refine']
    else:
        folder = osp.join(folders['refine'], f'train_aug_{setting}_{best}')
        stages.stage(
            f'{name} masks mIoU on train at {setting} {best:g}',
            lambda: stages.walk_labels(
                refine_config, network, folder,
                walk + [f'custom_hooks.0.cam_dir={labels}',
                        f'custom_hooks.0.{setting}={best}']),
            lambda summary: summary['mIoU'])
    return osp.join(folder, walk_folder(refine_config)), {setting: best}


if __name__ == '__main__':
    run(main)
