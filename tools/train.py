"""Train a model (MMSegmentation's tools/train.py, runnable from the repo).

    python tools/train.py CONFIG [--work-dir DIR] [--resume] [--amp]
        [--cfg-options KEY=VALUE ...]
    bash tools/dist_train.sh CONFIG GPUS [...]

Without a GPU, ``--launcher pytorch`` runs on CPU with the gloo backend.
``--resume`` resumes the work dir's latest intact checkpoint; ``load_from``
names the weights a run starts from (a previous stage), which a resumed run
keeps out of the way (MMEngine alone would resume from ``load_from``).
"""
import argparse
import glob
import logging
import os
import os.path as osp
import re
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import Runner, find_latest_checkpoint  # noqa: E402

from projects.rcm_mam.utils.checkpoint import (  # noqa: E402
    check_weights_fit, is_intact, read_weights, use_trusted_checkpoints)
from projects.rcm_mam.utils.cli import (PathDictAction,  # noqa: E402
                                        check_work_dir, load_config,
                                        run, setup_cpu_distributed)
from projects.rcm_mam.utils.errors import InputError  # noqa: E402
from projects.rcm_mam.utils.folder_lock import lock_folder  # noqa: E402
from projects.rcm_mam.utils.hue_shift import use_hue_shift  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        action='store_true',
        default=False,
        help='resume from the latest checkpoint in the work_dir '
        'automatically (without one: start from load_from, if set)')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=PathDictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file, e.g. '
        'load_from=work_dirs/cam/iter_1000.pth to start from a previous '
        'stage')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def resume_point(cfg) -> None:
    """With ``--resume``: resume the work dir's latest intact checkpoint,
    else start from ``load_from``'s weights (or from scratch).

    MMEngine resumes from ``load_from`` when it is set: a killed second
    stage would take the previous stage's iteration count, optimizer and
    schedule position and, with a shorter schedule, stop at once. A latest
    checkpoint cut short (a full disk, a kill while saving) is passed over
    for the newest intact one, with a warning.
    """
    latest = find_latest_checkpoint(cfg.work_dir)
    if latest and not is_intact(latest):
        saved = sorted(glob.glob(osp.join(cfg.work_dir, 'iter_*.pth')),
                       key=lambda p: int(re.findall(r'\d+', osp.basename(
                           p))[0]))
        intact = [p for p in saved if is_intact(p)]
        if not intact:
            raise InputError(f'{latest}: truncated checkpoint, and no '
                             f'intact one before it in {cfg.work_dir}. Fix: '
                             'remove the folder to train again.')
        print_log(f'{latest} is truncated; resuming from {intact[-1]}, '
                  'the latest intact checkpoint.', logger='current',
                  level=logging.WARNING)
        latest = intact[-1]
    if not latest:
        cfg.resume = False
        return
    if cfg.load_from:
        print_log(f'Resuming from {latest}; load_from={cfg.load_from} gave '
                  'the weights this run started from.', logger='current')
    cfg.load_from = latest


def main() -> None:
    args = parse_args()
    use_trusted_checkpoints()
    use_hue_shift()

    # load config
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher

    # work_dir is determined in this priority: CLI > segment in file > filename
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    # enable automatic-mixed-precision training
    if args.amp:
        if cfg.optim_wrapper.type == 'AmpOptimWrapper':
            print_log('AMP training is already enabled in your config.',
                      logger='current', level=logging.WARNING)
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'

    # resume training
    cfg.resume = args.resume
    if args.resume:
        resume_point(cfg)

    weights = read_weights(cfg.load_from)  # a missing file stops here
    check_work_dir(cfg.work_dir)
    if os.environ.get('RANK', '0') == '0':  # one training per work dir
        lock_folder(cfg.work_dir, 'training')
    setup_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    check_weights_fit(runner.model, weights, cfg.load_from)
    runner.train()


if __name__ == '__main__':
    run(main)
