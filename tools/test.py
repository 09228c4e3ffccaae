"""Test (and evaluate) a model (MMSegmentation's tools/test.py).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR]
        [--cfg-options KEY=VALUE ...]
    bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [...]

For a CAM config this scores the pseudo masks (CAM mIoU over a sweep of
background thresholds, see CAMIoUMetric); for a segmentation config it is
mmseg's mIoU.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.runner import Runner  # noqa: E402

from projects.rcm_mam.utils.checkpoint import (  # noqa: E402
    check_weights_fit, read_weights, use_trusted_checkpoints)
from projects.rcm_mam.utils.cli import (PathDictAction,  # noqa: E402
                                        check_work_dir, load_config,
                                        run, setup_cpu_distributed)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='MMSeg test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='the directory where the metrics are saved as json')
    parser.add_argument(
        '--out',
        type=str,
        help='the directory to save output predictions for offline '
        'evaluation (segmentation configs)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=PathDictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file.')
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


def main() -> None:
    args = parse_args()
    use_trusted_checkpoints()

    # load config
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher

    # work_dir is determined in this priority: CLI > segment in file > filename
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    cfg.load_from = args.checkpoint
    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True

    weights = read_weights(args.checkpoint)  # a missing file stops here
    check_work_dir(cfg.work_dir)
    setup_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    check_weights_fit(runner.model, weights, args.checkpoint)
    runner.test()


if __name__ == '__main__':
    run(main)
