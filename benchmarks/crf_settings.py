"""Dense CRF settings compared on the held-out split.

    python benchmarks/crf_settings.py [--work-dir work_dirs/ablation]
        [--data-seed 0] [--designs NAME ...] [--cfg-options KEY=VALUE ...]

Scores the CAMs of each design of ``benchmarks/explore_design.py`` (its
run, trained first if missing, with the same work dir and options) on
``val`` after dense CRF with each setting of ``SETTINGS`` (the unary and
the bilateral kernel; ``models.pseudo_mask.DEFAULT_CRF`` for the rest), at
the pipeline's CRF threshold sweep. ``val`` chooses the setting. Writes
WORK_DIR/crf_settings_data<seed>.{json,md}: every design and setting, the
best threshold and its mIoU, next to the CAM's own (no CRF). Runs are
kept: a re-run resumes.
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from benchmarks.ablation import Ablation, add_stage1_options  # noqa: E402
from benchmarks.explore_design import (CHOSEN, DESIGNS, ITERS,  # noqa: E402
                                       design_run)

from projects.rcm_mam.utils.cli import run  # noqa: E402
from projects.rcm_mam.utils.file_io import atomic_write, dump_json  # noqa

# name: overrides of DEFAULT_CRF; IRN's label CRF, and PSA's and SEAM's
# probability CRF, each with the pairwise terms of its paper, plus the
# label unary with PSA's pairwise terms
SETTINGS = {
    'label 80/13/10': dict(unary='label', bilateral_sxy=80,
                           bilateral_srgb=13),
    'label 50/5/10 (IRN)': dict(unary='label', bilateral_sxy=50,
                                bilateral_srgb=5),
    'prob 80/13/10 (PSA, SEAM)': dict(unary='prob', bilateral_sxy=80,
                                      bilateral_srgb=13),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default='work_dirs/ablation')
    parser.add_argument('--data-seed', type=int, default=0)
    parser.add_argument('--designs', nargs='+', choices=DESIGNS,
                        default=['cam', CHOSEN])
    parser.add_argument('--warmup-iters', type=int, default=1500)
    add_stage1_options(parser)
    return parser.parse_args()


def setting_options(setting: dict) -> List[str]:
    """``--cfg-options`` of the test evaluator's CRF ``setting``."""
    return [f'test_evaluator.0.crf.{key}={value}'
            for key, value in setting.items()]


def compare(ablation: Ablation, names: List[str]) -> List[Dict]:
    """Each design's val mIoU without CRF and with every setting."""
    rows = []
    for name in names:
        config, checkpoint, work_dir, options = design_run(ablation, name)
        plain = ablation.stages.test_val(config, checkpoint, work_dir,
                                         options)
        for setting, overrides in SETTINGS.items():
            slug = setting.split(' (')[0].replace(' ', '_').replace('/', '-')
            val = ablation.stages.test_val(
                config, checkpoint, osp.join(work_dir, f'crf_{slug}'),
                options + setting_options(overrides), crf=True)
            rows.append(dict(
                design=name, setting=setting, crf=overrides,
                cam_mIoU=plain['cam/oracle_mIoU'],
                crf_mIoU=val['cam/crf_oracle_mIoU'],
                threshold=val['cam/crf_oracle_threshold']))
    return rows


def report(rows: List[Dict], args: argparse.Namespace,
           work_dir: str) -> None:
    """Write the rows as JSON and Markdown."""
    out = osp.join(work_dir, f'crf_settings_data{args.data_seed}')
    dump_json(dict(split='val', data_seed=args.data_seed,
                   cfg_options=args.cfg_options, rows=rows), out + '.json')
    lines = ['| design | CRF setting | val CAM mIoU | val CRF mIoU | '
             'threshold |', '|---|---|---|---|---|'] + [
        f"| {r['design']} | {r['setting']} | {r['cam_mIoU']:.2f} | "
        f"{r['crf_mIoU']:.2f} | {r['threshold']:g} |" for r in rows]
    text = '\n'.join(lines) + '\n'
    print('\n' + text)
    atomic_write(out + '.md', lambda tmp: open(tmp, 'w').write(text))


def main() -> None:
    args = parse_args()
    ablation = Ablation(args.work_dir, args.data_seed, args.warmup_iters,
                        ITERS, args.cfg_options, args.warmup_config)
    report(compare(ablation, args.designs), args, ablation.stages.work_dir)


if __name__ == '__main__':
    run(main)
