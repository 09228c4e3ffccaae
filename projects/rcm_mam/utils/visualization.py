"""Pictures for people to look at: CAM overlays and training losses."""
import glob
import json
import os.path as osp
from typing import List, Sequence

import numpy as np
import torch
from mmengine.visualization import Visualizer

from .file_io import atomic_write


def cam_overlay(image: np.ndarray, scores: np.ndarray, keys: Sequence[int],
                mask: np.ndarray, classes: Sequence[str],
                palette: Sequence[Sequence[int]]) -> np.ndarray:
    """One panel per labelled class (heat map over the image), then the mask.

    Drawn by MMEngine's :class:`~mmengine.visualization.Visualizer`:
    ``draw_featmap`` blends each class's JET heat map half and half over
    the image, stretched to that map's range (the scores themselves for
    max-normalised CAMs, which span [0, 1]), and ``draw_texts`` names the
    panels. Rank 0 only: ``Visualizer.get_image`` returns None elsewhere.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        scores (np.ndarray): (C, H, W) class scores in [0, 1].
        keys (Sequence[int]): Labelled classes (mask values, 1-based).
        mask (np.ndarray): (H, W) pseudo mask.
        classes (Sequence[str]): Class names, background first.
        palette (Sequence): RGB colour per class.

    Returns:
        np.ndarray: (H, W * (len(keys) + 2), 3) uint8 RGB panels.
    """
    heat_maps = [
        Visualizer.draw_featmap(
            torch.from_numpy(scores[key - 1][None]).float(), image,
            channel_reduction=None, topk=0) for key in keys
    ]
    colours = np.zeros((256, 3), np.uint8)
    colours[:len(palette)] = palette
    colours[255] = 255
    visualizer = Visualizer()
    visualizer.set_image(
        np.concatenate([image, *heat_maps, colours[mask]], axis=1))
    names = [classes[key] for key in keys] + ['pseudo mask']
    corners = [(image.shape[1] * (i + 1) + 4, 2) for i in range(len(names))]
    visualizer.draw_texts(names, np.array(corners), colors='white',
                          font_sizes=8)
    return visualizer.get_image()


def plot_losses(train_dirs: List[str], path: str) -> None:
    """One panel per training run: its logged losses against iteration."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(train_dirs),
                             figsize=(4.5 * len(train_dirs), 3.5),
                             squeeze=False)
    for ax, work_dir in zip(axes[0], train_dirs):
        logs = sorted(glob.glob(f'{work_dir}/*/vis_data/scalars.json'))
        rows = [json.loads(line) for log in logs for line in open(log)
                if '"loss' in line]
        # loss_cls, loss_rcm, ...; mmseg's decode.loss_ce, aux.loss_ce
        keys = sorted({k for r in rows for k in r if 'loss_' in k})
        for key in keys:
            ax.plot([r['iter'] for r in rows if key in r],
                    [r[key] for r in rows if key in r], label=key)
        ax.set_title(osp.basename(work_dir), fontsize=9)
        ax.set_xlabel('iteration')
        ax.set_yscale('log')
        ax.legend(fontsize=7)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format='png', dpi=90))
