"""Convert MS COCO 2014's instances to the layout the COCO configs read.

    python tools/make_coco2014_wsss.py DATA_ROOT [--nproc 8]
        [--seed-subset 1000]

Reads ``DATA_ROOT/{train2014,val2014}/*.jpg`` and
``DATA_ROOT/annotations/instances_{train,val}2014.json`` (pycocotools) and
writes beside them ``SegmentationClass/*.png`` (0 background, 1-80 the
categories in COCO's id order, 255 crowd regions; of overlapping instances
the smallest wins), ``ImageSets/Segmentation/{train,val}.txt`` (82,081 /
40,137 images with annotations), ``train_subset.txt`` (the images of train
the seeds are scored on), ``no_annotation.txt`` (images without any
annotation, left out of the splits), ``cls_labels.json`` (each image's
categories, crowd regions included) and ``coco2014_wsss.json`` (what made
them, and the counts). Masks are written in parallel and atomically; a
re-run resumes. The rules: projects/rcm_mam/datasets/coco_instances.py.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from projects.rcm_mam.datasets.coco_wsss import convert_coco2014  # noqa
from projects.rcm_mam.utils.cli import run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('data_root', help='the folder holding train2014/, '
                        'val2014/ and annotations/')
    parser.add_argument('--nproc', type=int, default=min(8, os.cpu_count()),
                        help='processes writing masks')
    parser.add_argument('--seed-subset', type=int, default=1000,
                        help='images of train_subset.txt, drawn from train '
                        'with a fixed seed')
    args = parser.parse_args()
    counts = convert_coco2014(args.data_root, args.nproc, args.seed_subset)
    print(f'COCO 2014 in {args.data_root}: ' + ', '.join(
        f'{k} {v:,}' for k, v in counts.items()))


if __name__ == '__main__':
    run(main)
