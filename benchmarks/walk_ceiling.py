"""What IRN's random walk can give on a data set: the seeds, the walk over
the ground truth's class boundary, and the walk over trained boundary
networks, each scored on a split that has ground truth.

    python benchmarks/walk_ceiling.py DATA_ROOT CAM_DIR [--split val]
        [--network CONFIG CHECKPOINT]... [--labels LABEL_DIR]
        [--thresholds 0.15 0.25 0.35 0.45] [--out FILE.json]

``CAM_DIR`` holds the split's CAMs as ``tools/make_pseudo_labels.py
--confident`` writes them. For each background score of ``--thresholds``
it prints the mIoU of: the seeds (the CAMs at that score); the walk
(``models.random_walk.refine_cams``, IRN's radius, beta and steps) over the
ground truth's class boundary (one block thick at stride 4: about the
walk's ceiling with a perfect boundary network); and the walk over each
``--network``'s boundary, as its ``refine`` computes it. ``--labels``
adds how right a folder of training labels (``ir_labels/``) is on the
same images: the share of its foreground and background pixels that the
ground truth agrees with, and the share of the ground truth's foreground
it labels.
A diagnosis of the refinement, not a tuning tool: read it on ``val``.
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List

import mmcv
import numpy as np
import torch
import torch.nn.functional as F

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from mmengine.config import Config  # noqa: E402
from mmengine.runner import load_checkpoint  # noqa: E402
from mmseg.registry import MODELS  # noqa: E402
from mmseg.utils import register_all_modules  # noqa: E402

from projects.rcm_mam.evaluation.cam_iou_metric import (  # noqa: E402
    class_iou, iou_stats)
from projects.rcm_mam.models.pseudo_mask import threshold_mask  # noqa: E402
from projects.rcm_mam.models.random_walk import (refine_cams,  # noqa: E402
                                                 strided)
from projects.rcm_mam.utils.checkpoint import \
    use_trusted_checkpoints  # noqa: E402
from projects.rcm_mam.utils.file_io import dump_json  # noqa: E402
from projects.rcm_mam.utils.progress import Progress  # noqa: E402

NUM_CLASSES, IGNORE = 21, 255
GT_WALK = 'walk over the ground-truth boundary'


def gt_boundary(gt: np.ndarray) -> torch.Tensor:
    """(ceil(H / 4), ceil(W / 4)) class boundary of an (H, W) label map, as
    thin as it can be at stride 4: 1 on a 4 x 4 block holding a pixel whose
    right or lower neighbour has another label, or an ignored pixel."""
    labels = torch.from_numpy(gt.astype(np.int64))
    edge = labels == IGNORE
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    edge[:-1] |= labels[:-1] != labels[1:]
    pad = (0, -gt.shape[1] % 4, 0, -gt.shape[0] % 4)  # IRN's blocks
    return F.max_pool2d(F.pad(edge[None, None].float(), pad), 4)[0, 0]


def network(config: str, checkpoint: str) -> torch.nn.Module:
    """A boundary network (``IRNBoundaryNet``) with a checkpoint's
    weights, in eval mode."""
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None  # the checkpoint holds it
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    return model.eval()


def image_scores(image: np.ndarray, gt: np.ndarray, cams: torch.Tensor,
                 models: Dict[str, torch.nn.Module]) -> Dict[str, np.ndarray]:
    """(K, H, W) class scores of one image per source: its CAMs (the
    seeds), walked over ``gt``'s boundary and over each model's.

    Args:
        image (np.ndarray): (H, W, 3) BGR image.
        gt (np.ndarray): (H, W) ground-truth labels.
        cams (Tensor): (K, H, W) max-normalised CAMs of its K classes.
        models (dict): Boundary networks by name.
    """
    boundary = gt_boundary(gt)
    scores = {'seeds': cams, GT_WALK: refine_cams(
        strided(cams, boundary.shape), boundary, gt.shape)}
    inputs = torch.from_numpy(image).permute(2, 0, 1)
    for name, model in models.items():
        batch = model.data_preprocessor(dict(inputs=[inputs]), False)
        scores[name] = model.refine(batch['inputs'], cams)[1:]
    return {name: s.numpy() for name, s in scores.items()}


def label_agreement(label: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Counts: labelled foreground, of it right; labelled background, of
    it right; ground-truth foreground, of it labelled right."""
    known = gt != IGNORE
    fg = known & (label > 0) & (label != IGNORE)
    bg = known & (label == 0)
    gt_fg = known & (gt > 0)
    return np.array([fg.sum(), (fg & (label == gt)).sum(), bg.sum(),
                     (bg & (gt == 0)).sum(), gt_fg.sum(),
                     (gt_fg & (label == gt)).sum()])


def measure(args: argparse.Namespace) -> Dict:
    """Summed IoU statistics per source and threshold, and label counts."""
    names = open(osp.join(args.data_root, 'ImageSets', 'Segmentation',
                          args.split + '.txt')).read().split()
    models = {f'walk over {ckpt}':
              network(cfg, ckpt) for cfg, ckpt in args.network or []}
    sources = ['seeds', GT_WALK, *models]
    stats = {(s, t): 0 for s in sources for t in args.thresholds}
    agreement = np.zeros(6, np.int64)
    with Progress(len(names), file=sys.stderr) as progress:
        for name in names:
            measure_one(args, name, models, stats, agreement)
            progress.update()
    return dict(stats=stats, agreement=agreement)


def measure_one(args: argparse.Namespace, name: str, models: Dict,
                stats: Dict, agreement: np.ndarray) -> None:
    """Add image ``name``'s IoU statistics to ``stats`` and its labels'
    counts to ``agreement``."""
    gt = mmcv.imread(osp.join(args.data_root, 'SegmentationClass',
                              name + '.png'), 'unchanged', backend='pillow')
    image = mmcv.imread(osp.join(args.data_root, 'JPEGImages',
                                 name + '.jpg'))
    saved = np.load(osp.join(args.cam_dir, name + '.npy'),
                    allow_pickle=True).item()
    scores = image_scores(image, gt, torch.from_numpy(
        saved['cam'].astype(np.float32)), models)
    keys = np.asarray(saved['keys'])
    for source, score in scores.items():
        full = np.zeros((NUM_CLASSES - 1, *gt.shape), np.float32)
        full[keys] = score
        for t in args.thresholds:
            stats[source, t] += iou_stats(threshold_mask(full, t), gt,
                                          NUM_CLASSES, IGNORE)
    if args.labels:
        label = mmcv.imread(osp.join(args.labels, name + '.png'),
                            'unchanged', backend='pillow')
        agreement += label_agreement(label, gt)


def report(args: argparse.Namespace, measured: Dict) -> Dict:
    """Print and return the mIoU table (and the labels' agreement)."""
    table: Dict[str, Dict[str, float]] = {}
    for (source, t), stats in measured['stats'].items():
        table.setdefault(source, {})[str(t)] = round(
            100 * float(np.nanmean(class_iou(stats))), 2)
    print('background score: ' + '  '.join(map(str, args.thresholds)))
    for source, row in table.items():
        print(f'{source}: ' + '  '.join(f'{v:.2f}' for v in row.values()))
    out: Dict = dict(split=args.split, cam_dir=osp.realpath(args.cam_dir),
                     mIoU=table)
    if args.labels:
        fg, fg_ok, bg, bg_ok, gt_fg, gt_fg_ok = measured['agreement']
        out['labels'] = dict(
            folder=osp.realpath(args.labels),
            foreground_right=round(100 * fg_ok / max(fg, 1), 2),
            background_right=round(100 * bg_ok / max(bg, 1), 2),
            foreground_covered=round(100 * gt_fg_ok / max(gt_fg, 1), 2))
        print('labels (%): ' + ', '.join(
            f'{k} {v}' for k, v in out['labels'].items() if k != 'folder'))
    return out


def main(argv: List[str] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('data_root', help='VOC2012 folder')
    parser.add_argument('cam_dir', help="the split's CAM .npy files")
    parser.add_argument('--split', default='val')
    parser.add_argument('--network', nargs=2, action='append',
                        metavar=('CONFIG', 'CHECKPOINT'))
    parser.add_argument('--labels', help='training labels to check')
    parser.add_argument('--thresholds', type=float, nargs='+',
                        default=[0.15, 0.25, 0.35, 0.45])
    parser.add_argument('--out')
    args = parser.parse_args(argv)
    register_all_modules(True)
    use_trusted_checkpoints()
    torch.set_grad_enabled(False)
    out = report(args, measure(args))
    if args.out:
        dump_json(out, args.out)


if __name__ == '__main__':
    main()
