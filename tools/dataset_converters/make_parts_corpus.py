"""Write Parts-64, the synthetic classification corpus for pretraining.

    python tools/dataset_converters/make_parts_corpus.py [--out data/parts64]
        [--seed 0] [--num-train 24000] [--num-val 3200] [--nproc 2]

writes ``OUT/{train,val}/NNNNNN.jpg`` and the annotation files
``OUT/meta/{train,val}.txt`` of mmpretrain's ``CustomDataset``, which
``configs/pretrain/resnet18-w32_1xb64_parts64.py`` reads, with the class
names in ``OUT/meta/classes.txt`` (docs/parts64.md: the design).
Deterministic for a given seed; a re-run keeps finished images, and a folder
made with other settings or drawing code is refused.
"""
import argparse
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

from projects.rcm_mam.utils.cli import run  # noqa: E402
from tools.dataset_converters.parts_corpus import make_parts_corpus  # noqa


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default='data/parts64')
    parser.add_argument('--seed', type=int, default=0, help='data seed')
    parser.add_argument('--num-train', type=int, default=24000)
    parser.add_argument('--num-val', type=int, default=3200,
                        help='held-out images (top-1 accuracy)')
    parser.add_argument('--nproc', type=int, default=2,
                        help='processes drawing images')
    args = parser.parse_args()
    start = time.perf_counter()
    make_parts_corpus(args.out, args.seed, args.num_train, args.num_val,
                      args.nproc)
    print(f'\nParts-64 in {args.out}: train {args.num_train}, val '
          f'{args.num_val} ({time.perf_counter() - start:.0f} s)')


if __name__ == '__main__':
    run(main)
