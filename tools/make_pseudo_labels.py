"""Write pseudo masks from a trained CAM checkpoint (no training).

    python tools/make_pseudo_labels.py CONFIG CHECKPOINT [--work-dir DIR]
        [--crf | --no-crf] [--cfg-options KEY=VALUE ...]
    bash tools/dist_make_pseudo_labels.sh CONFIG CHECKPOINT GPUS [...]

Runs the config's ``PseudoLabelHook``, else the hook of its
``pseudo_label_hook`` setting (what a CAM stage that does not run one after
training keeps, as configs/cam_r50_coco.py), else one with default settings
(CRF on or off with ``--crf`` / ``--no-crf``): ``WORK_DIR/pseudo_labels/
*.png`` for the split, resumable, and their mIoU.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmseg.registry import HOOKS  # noqa: E402

from projects.rcm_mam.utils.cli import (add_runner_args, build_runner,  # noqa
                                        config_from_args, run)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file of the CAM model')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where pseudo_labels/ goes')
    parser.add_argument(
        '--crf', action=argparse.BooleanOptionalAction,
        help='refine the masks with dense CRF or not (default: as the '
        "config's PseudoLabelHook; --crf keeps its CRF parameters, if any, "
        "else the defaults (models/pseudo_mask.py DEFAULT_CRF))")
    add_runner_args(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = config_from_args(args)
    default = cfg.get('pseudo_label_hook', dict(type='PseudoLabelHook'))
    hook_cfg = next((h for h in cfg.get('custom_hooks', [])
                     if h['type'] == 'PseudoLabelHook'), default)
    if args.crf is not None:
        hook_cfg = dict(hook_cfg, crf=(hook_cfg.get('crf') or dict())
                        if args.crf else None)
    hook = HOOKS.build(hook_cfg)
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks', [])
                        if h['type'] != 'PseudoLabelHook']
    runner = build_runner(cfg, args.checkpoint)
    runner.load_checkpoint(args.checkpoint)
    hook.generate(runner)


if __name__ == '__main__':
    run(main)
