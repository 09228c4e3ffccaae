"""Pictures for people to look at: CAM overlays and training losses."""
import glob
import json
import os.path as osp
from typing import List, Sequence

import cv2
import numpy as np

from .file_io import atomic_write


def cam_overlay(image: np.ndarray, scores: np.ndarray, keys: Sequence[int],
                mask: np.ndarray, classes: Sequence[str],
                palette: Sequence[Sequence[int]]) -> np.ndarray:
    """One panel per labelled class (heat map over the image), then the mask.

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
    panels = [np.ascontiguousarray(image)]
    for key in keys:
        heat = cv2.applyColorMap((scores[key - 1] * 255).astype(np.uint8),
                                 cv2.COLORMAP_JET)[..., ::-1]
        panel = cv2.addWeighted(image, 0.5, heat, 0.5, 0)
        panels.append(_label(panel, classes[key]))
    colours = np.zeros((256, 3), np.uint8)
    colours[:len(palette)] = palette
    colours[255] = 255
    panels.append(_label(colours[mask], 'pseudo mask'))
    return np.concatenate(panels, axis=1)


def _label(panel: np.ndarray, text: str) -> np.ndarray:
    panel = np.ascontiguousarray(panel)
    cv2.putText(panel, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                (255, 255, 255), 1, cv2.LINE_AA)
    return panel


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
