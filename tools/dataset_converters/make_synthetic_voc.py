"""Write the synthetic VOC-format data set used by the demo and the tests.

    python tools/dataset_converters/make_synthetic_voc.py
        --out data/synthetic_voc [--seed 0] [--scale 1] [--workers 1]

writes ``OUT/VOCdevkit/VOC2012/{JPEGImages,Annotations,SegmentationClass,
SegmentationClassAug,ImageSets/Segmentation}`` and ``cls_labels.json`` as
PASCAL VOC2012 + SBD are (and as tools/make_voc_labels.py makes the labels).
Deterministic for a given seed; re-running keeps finished files.
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

from projects.rcm_mam.utils.cli import run  # noqa: E402
from tools.dataset_converters.synthetic_voc import make_synthetic_voc  # noqa


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--seed', type=int, default=0, help='data seed')
    parser.add_argument('--num-train', type=int, default=200,
                        help='images in train (with SegmentationClass)')
    parser.add_argument('--num-val', type=int, default=100,
                        help='images in val')
    parser.add_argument('--num-aug', type=int, default=200,
                        help='extra SBD-style images of train_aug')
    parser.add_argument('--layout', choices=['irn', 'mmseg'], default='irn',
                        help="SBD's layout: IRN's downloaded "
                        "SegmentationClassAug and train_aug.txt, or what "
                        "mmseg's voc_aug.py writes (trainaug.txt, aug.txt, "
                        'masks of SBD images only)')
    parser.add_argument('--scale', type=float, default=1.0,
                        help='image scale: 1 draws long sides of 200-256 '
                        "px (the synthetic configs'), 1.95 of 390-500 px "
                        "(VOC's, for the VOC configs)")
    parser.add_argument('--workers', type=int, default=1,
                        help='processes drawing the images (the output '
                        'does not depend on it)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    splits = make_synthetic_voc(args.out, args.seed, args.num_train,
                                args.num_val, args.num_aug, args.layout,
                                args.scale, args.workers)
    sizes = ', '.join(f'{k} {len(v)}' for k, v in splits.items())
    root = osp.join(args.out, 'VOCdevkit', 'VOC2012')
    print(f'synthetic VOC in {root}: {sizes}')


if __name__ == '__main__':
    run(main)
