"""Write pseudo masks from a trained CAM checkpoint (no training).

    python tools/make_pseudo_labels.py CONFIG CHECKPOINT [--work-dir DIR]
        [--cfg-options KEY=VALUE ...]
    bash tools/dist_make_pseudo_labels.sh CONFIG CHECKPOINT GPUS [...]

Runs the config's ``PseudoLabelHook`` (or one with default settings):
``WORK_DIR/pseudo_labels/*.png`` for the split, resumable, and their mIoU.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import DictAction  # noqa: E402
from mmseg.registry import HOOKS  # noqa: E402

from projects.rcm_mam.utils.cli import build_runner, load_config, run  # noqa


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file of the CAM model')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where pseudo_labels/ goes')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings, e.g. '
        'custom_hooks.1.crf="dict()" to switch CRF on')
    parser.add_argument('--launcher', choices=['none', 'pytorch'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs',
        osp.splitext(osp.basename(args.config))[0])
    hook_cfg = next((h for h in cfg.get('custom_hooks', [])
                     if h['type'] == 'PseudoLabelHook'),
                    dict(type='PseudoLabelHook'))
    hook = HOOKS.build(hook_cfg)
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks', [])
                        if h['type'] != 'PseudoLabelHook']
    runner = build_runner(cfg, args.checkpoint)
    runner.load_checkpoint(args.checkpoint)
    hook.generate(runner)


if __name__ == '__main__':
    run(main)
