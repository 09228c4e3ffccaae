"""Write pseudo masks from a trained CAM checkpoint (no training).

    python tools/make_pseudo_labels.py CONFIG CHECKPOINT [--work-dir DIR]
        [--crf | --no-crf | --confident [psa]] [--cfg-options KEY=VALUE ...]
    bash tools/dist_make_pseudo_labels.sh CONFIG CHECKPOINT GPUS [...]

Runs the config's ``PseudoLabelHook`` (or, for a boundary network's
config such as configs/irn_r50_voc.py, its ``RandomWalkLabelHook``: the
walk's masks), else the hook of its
``pseudo_label_hook`` setting (what a CAM stage that does not run one after
training keeps, as configs/cam_r50_coco.py), else one with default settings
(CRF on or off with ``--crf`` / ``--no-crf``): ``WORK_DIR/pseudo_labels/
*.png`` for the split, resumable, and their mIoU. ``--confident`` writes
IRN's confident labels and the CAMs (``WORK_DIR/ir_labels/``) instead,
``--confident psa`` AffinityNet's (``WORK_DIR/psa_labels/``).
"""
import argparse
import os
import os.path as osp
import sys
from typing import Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from mmseg.registry import HOOKS  # noqa: E402

from projects.rcm_mam.engine import LABEL_FOLDERS  # noqa: E402
from projects.rcm_mam.utils.checkpoint import (  # noqa: E402
    check_weights_fit, read_weights, use_trusted_checkpoints)
from projects.rcm_mam.utils.cli import (PathDictAction,  # noqa: E402
                                        check_work_dir, load_config,
                                        run, setup_cpu_distributed)
from projects.rcm_mam.utils.errors import InputError  # noqa: E402


MASK_HOOKS = ('PseudoLabelHook', 'RandomWalkLabelHook')
# --confident FORM: the hook's confident setting (IRN's recorded without a
# form, as it was first)
CONFIDENT = dict(irn=dict(), psa=dict(form='psa'))


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
    parser.add_argument(
        '--confident', nargs='?', const='irn', choices=['irn', 'psa'],
        help="write a refinement network's training labels and the CAMs "
        "instead of masks: IRN's confident labels (foreground above 0.30, "
        'background below 0.05, each refined by its label CRF, the rest '
        "255) to ir_labels/ (configs/*/irn_*.py), or with 'psa' "
        "AffinityNet's (PSA's CRFs at background (1 - max)^4 and ^32) to "
        'psa_labels/')
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


def pseudo_label_hook(cfg: Config, crf: Optional[bool],
                      confident: Optional[str]) -> Hook:
    """The config's ``PseudoLabelHook`` (else its ``pseudo_label_hook``
    setting, else the default), CRF switched by ``crf`` unless None; with
    ``confident`` ('irn' or 'psa'), the hook of that refinement's training
    labels and CAMs instead."""
    default = {'type': 'PseudoLabelHook', **cfg.get('pseudo_label_hook', {})}
    hook_cfg = next((h for h in cfg.get('custom_hooks', [])
                     if h['type'] in MASK_HOOKS), default)
    if hook_cfg['type'] == 'RandomWalkLabelHook' and (crf is not None or
                                                      confident):
        raise InputError("the config's masks are a random walk's: they take "
                         'neither --crf nor --confident. Fix: drop them.')
    if confident:
        if crf:
            raise InputError('--crf and --confident were both given; '
                             'confident labels use their own CRF. Fix: drop '
                             '--crf.')
        hook_cfg = dict(hook_cfg, crf=None, save_cams=True,
                        eval_ann_file=None, confident=CONFIDENT[confident],
                        out_dir=LABEL_FOLDERS[confident])
    elif crf is not None:
        hook_cfg = dict(hook_cfg, crf=(hook_cfg.get('crf') or dict())
                        if crf else None)
    return HOOKS.build(hook_cfg)


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

    hook = pseudo_label_hook(cfg, args.crf, args.confident)
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks', [])
                        if h['type'] not in MASK_HOOKS]
    weights = read_weights(args.checkpoint)  # a missing file stops here
    check_work_dir(cfg.work_dir)
    setup_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    check_weights_fit(runner.model, weights, args.checkpoint)
    runner.load_checkpoint(args.checkpoint)
    hook.generate(runner)


if __name__ == '__main__':
    run(main)
