"""Test (and evaluate) a model (MMSegmentation's tools/test.py).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR]
        [--cfg-options KEY=VALUE ...]
    bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [...]

For a CAM config this scores the pseudo masks (CAM mIoU over a sweep of
background thresholds, see CAMIoUMetric); for a segmentation config it is
mmseg's mIoU.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from projects.rcm_mam.utils.cli import (add_runner_args, build_runner,  # noqa
                                        config_from_args, run)


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
    add_runner_args(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = config_from_args(args)
    cfg.load_from = args.checkpoint
    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True
    runner = build_runner(cfg)
    runner.test()


if __name__ == '__main__':
    run(main)
