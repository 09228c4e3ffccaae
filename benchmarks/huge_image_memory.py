"""Peak memory of pseudo labels for one huge image (a phone photo).

    python benchmarks/huge_image_memory.py [--sizes 4000x3000 6000x4000]
        [--max-long-side N | --no-bound] [--out FILE.json]

For each size, a synthetic image and its mask are scaled up to it, and
``PseudoLabelHook`` (the config's test scales and flip, no CRF) writes its
pseudo mask in a process of its own, which prints its peak resident memory.
``--no-bound`` switches ``test_cfg.max_long_side`` off (today's figure
without the bound; it needs about 10 GB at 4000x3000). ``--out`` adds the
figures to a JSON file (rows of size, bound and peak MiB; a row measured
again replaces the old one).
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
import tempfile

import cv2

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from pseudo_label_speed import make_hook, peak_rss_mib, setup  # noqa: E402


def make_huge_set(out: str, width: int, height: int) -> str:
    """A VOC root whose train_aug holds one image of ``width`` x ``height``."""
    from projects.rcm_mam.utils.file_io import (dump_json, read_label_png,
                                                save_jpeg, save_label_png,
                                                save_lines)
    from tools.dataset_converters.synthetic_voc import make_synthetic_voc
    make_synthetic_voc(out, 0, num_train=0, num_val=0, num_aug=1)
    root = osp.join(out, 'VOCdevkit', 'VOC2012')
    name = open(osp.join(root, 'ImageSets/Segmentation/train_aug.txt')
                ).read().split()[0]
    image = cv2.imread(osp.join(root, 'JPEGImages', name + '.jpg'))
    mask_path = osp.join(root, 'SegmentationClassAug', name + '.png')
    mask = read_label_png(mask_path)
    save_jpeg(cv2.resize(image, (width, height))[..., ::-1],
              osp.join(root, 'JPEGImages', 'huge.jpg'))
    save_label_png(cv2.resize(mask, (width, height),
                              interpolation=cv2.INTER_NEAREST),
                   osp.join(root, 'SegmentationClassAug', 'huge.png'),
                   palette=None)
    save_lines(['huge'], osp.join(root, 'ImageSets/Segmentation/huge.txt'))
    labels_path = osp.join(root, 'cls_labels.json')
    labels = json.load(open(labels_path))
    dump_json(dict(labels, huge=labels[name]), labels_path)
    return root


def child(config: str, data_root: str, limit: str) -> None:
    """Write the pseudo mask of the huge image; print the peak RSS."""
    runner = setup(config, data_root, 1)
    if limit != 'config':
        runner.model.test_cfg['max_long_side'] = json.loads(limit)
    runner.cfg.test_dataloader.dataset.ann_file = \
        'ImageSets/Segmentation/huge.txt'
    hook = make_hook()
    hook.ann_file = 'ImageSets/Segmentation/huge.txt'
    hook.generate(runner)
    print(json.dumps(dict(peak_mib=peak_rss_mib(),
                          bound=runner.model.test_cfg.get('max_long_side'))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=osp.join(
        ROOT, 'configs/synthetic/rcm_mam_r18_synthetic.py'))
    parser.add_argument('--sizes', nargs='+', default=['4000x3000',
                                                       '6000x4000'])
    bound = parser.add_mutually_exclusive_group()
    bound.add_argument('--max-long-side', type=int,
                       help="bound (default: the config's)")
    bound.add_argument('--no-bound', action='store_true')
    parser.add_argument('--out', help='add the figures to this JSON file')
    parser.add_argument('--child', nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    limit = 'null' if args.no_bound else str(
        args.max_long_side) if args.max_long_side else 'config'
    if args.child:
        child(args.config, args.child[0], args.child[1])
        return
    for size in args.sizes:
        width, height = map(int, size.split('x'))
        root = make_huge_set(tempfile.mkdtemp(), width, height)
        out = subprocess.run(
            [sys.executable, __file__, '--config', args.config, '--child',
             root, limit], capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(f'{size}: peak resident memory {result["peak_mib"]:7.0f} MiB '
              f'(max_long_side {result["bound"]})', flush=True)
        if args.out:
            add_row(args.out, dict(size=size, config=osp.relpath(
                args.config, ROOT), **result))


def add_row(path: str, row: dict) -> None:
    """Add ``row`` to the rows of the JSON file ``path``, replacing one of
    the same size, config and bound."""
    from projects.rcm_mam.utils.file_io import dump_json
    rows = json.load(open(path))['rows'] if osp.isfile(path) else []
    key = ('size', 'config', 'bound')
    rows = [r for r in rows if [r[k] for k in key] != [row[k] for k in key]
            ] + [row]
    dump_json(dict(rows=rows), path)


if __name__ == '__main__':
    main()
