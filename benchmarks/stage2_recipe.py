"""Stage 2's optimizer and schedule, compared on the held-out split.

    python benchmarks/stage2_recipe.py --data-root ROOT --masks DIR
        [--work-dir work_dirs/stage2_recipe] [--recipes NAME ...]

Trains the synthetic DeepLabV3 (``CONFIG``) on one folder of pseudo masks
with each recipe of ``RECIPES`` and tests it on ``val`` (the real masks),
with the project's tools (:class:`tools.pipeline.StageRunner`): AdamW
(the config's optimizer, first chosen in the random-init regime) and
mmseg's DeepLabV3 optimizer (SGD, lr 0.01, momentum 0.9, weight decay
5e-4, poly decay), each at 800 and 1,600 iterations. ``val`` chose the
config's 1,600 iterations on one data seed's masks, and a second data
seed's confirmed it (docs/synthetic.md). Writes
WORK_DIR/stage2_recipe.{json,md}; the config runs as it is, the other
recipes test only their last checkpoint (``tools/test.py``) and keep one
every 500 iterations, so a re-run resumes.
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from benchmarks.ablation import (iteration_time, resumable,  # noqa: E402
                                 schedule)
from tools.pipeline import StageRunner, data_options  # noqa: E402

from projects.rcm_mam.utils.cli import run  # noqa: E402
from projects.rcm_mam.utils.file_io import atomic_write, dump_json  # noqa

CONFIG = 'configs/synthetic/deeplabv3_r18_synthetic_pseudo.py'
SGD = ['optim_wrapper.optimizer.type=SGD', 'optim_wrapper.optimizer.lr=0.01',
       'optim_wrapper.optimizer.momentum=0.9',
       'optim_wrapper.optimizer.weight_decay=0.0005']


def trained(iters: int) -> List[str]:
    """``iters`` iterations, tested once at the end by ``tools/test.py``,
    resumable (the ablation's schedule)."""
    return schedule(iters) + resumable(iters)


RECIPES = {
    'AdamW 1e-3, 800 iterations (the earlier config)': trained(800),
    'AdamW 1e-3, 1,600 iterations (the config)': [],
    "SGD 0.01 (mmseg's DeepLabV3), 800 iterations": SGD + trained(800),
    "SGD 0.01 (mmseg's DeepLabV3), 1,600 iterations": SGD + trained(1600),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data-root', required=True,
                        help='the VOC2012 folder the masks were made for')
    parser.add_argument('--masks', required=True,
                        help='pseudo-mask folder of train_aug')
    parser.add_argument('--work-dir', default='work_dirs/stage2_recipe')
    parser.add_argument('--recipes', nargs='+', choices=RECIPES,
                        default=list(RECIPES))
    return parser.parse_args()


def slug(name: str) -> str:
    """A folder name for a recipe."""
    return ''.join(c if c.isalnum() else '_' for c in name).strip('_')


def compare(stages: StageRunner, args: argparse.Namespace) -> List[Dict]:
    """Each recipe's stage-2 mIoU on val and its time per iteration."""
    data = data_options(osp.abspath(args.data_root)) + [
        'train_dataloader.dataset.data_prefix.seg_map_path=' +
        osp.abspath(args.masks)]
    rows = []
    for name in args.recipes:
        work_dir = osp.join(stages.work_dir, slug(name))
        options = data + RECIPES[name]
        checkpoint = stages.train(CONFIG, work_dir, options)
        test = stages.test(CONFIG, checkpoint, osp.join(work_dir, 'test'),
                           options)
        rows.append(dict(recipe=name, options=RECIPES[name],
                         val_mIoU=test['mIoU'],
                         s_per_iter=iteration_time(work_dir)))
        print(f"{name}: val mIoU {test['mIoU']:.2f}", flush=True)
    return rows


def report(rows: List[Dict], args: argparse.Namespace, out: str) -> None:
    """Write the rows, with the masks and data they used, as JSON and
    Markdown."""
    dump_json(dict(split='val', data_root=osp.abspath(args.data_root),
                   masks=osp.abspath(args.masks), rows=rows), out + '.json')
    lines = ['| recipe | val mIoU | s/iter |', '|---|---|---|'] + [
        f"| {r['recipe']} | {r['val_mIoU']:.2f} | {r['s_per_iter']:.2f} |"
        for r in rows]
    text = '\n'.join(lines) + '\n'
    print('\n' + text)
    atomic_write(out + '.md', lambda tmp: open(tmp, 'w').write(text))


def main() -> None:
    args = parse_args()
    stages = StageRunner(args.work_dir)
    report(compare(stages, args), args,
           osp.join(stages.work_dir, 'stage2_recipe'))


if __name__ == '__main__':
    run(main)
