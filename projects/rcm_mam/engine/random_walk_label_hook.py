"""RandomWalkLabelHook: pseudo masks from CAMs walked over a trained
boundary network's affinity (IRN's semantic masks)."""
import os.path as osp
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmseg.registry import HOOKS
from torch import Tensor

from ..models.pseudo_mask import threshold_mask
from ..models.random_walk import refine_cams
from ..utils.errors import InputError
from ..utils.file_io import save_label_png
from ..utils.generation_record import (RECORD, check_complete, file_sha256,
                                       model_config_digest, weights_digest)
from .pseudo_label_hook import PseudoLabelHook


def read_cams(cam_dir: str, name: str, keys: np.ndarray,
              size: Tuple[int, int]) -> Tensor:
    """The saved CAMs of image ``name`` (``PseudoLabelHook(save_cams=True)``
    format), checked against the image's classes and size.

    Args:
        cam_dir (str): Folder of ``<name>.npy`` files.
        name (str): Image name.
        keys (np.ndarray): The image's foreground label values (class + 1).
        size (tuple): The image's (H, W) as loaded.

    Returns:
        Tensor: (K, H, W) float32 scores of the image's K classes.
    """
    path = osp.join(cam_dir, name + '.npy')
    if not osp.isfile(path):
        raise InputError(
            f'{path}: no CAMs for image {name}. Fix: write them for this '
            'split with tools/make_pseudo_labels.py CONFIG CKPT --confident '
            '(ir_labels/ holds both).')
    saved = np.load(path, allow_pickle=True).item()
    if not np.array_equal(np.asarray(saved['keys']) + 1, keys):
        raise InputError(
            f'{path}: CAMs of classes {list(saved["keys"])}, but the image '
            f'label has {list(keys - 1)}. Fix: re-make the CAMs with the '
            'current image labels.')
    if tuple(saved['cam'].shape[1:]) != tuple(size):
        raise InputError(
            f'{path}: CAMs of size {saved["cam"].shape[1:]}, but the image '
            f'is {tuple(size)}. Fix: re-make the CAMs from these images.')
    return torch.from_numpy(saved['cam'].astype(np.float32))


def strided(cams: Tensor, size) -> Tensor:
    """(K, H, W) scores resized to the boundary map's (h, w) and
    max-normalised per class, as IRN's stride-4 CAMs."""
    small = F.interpolate(cams[None], size=tuple(size), mode='bilinear',
                          align_corners=False)[0]
    return small / small.flatten(1).amax(1).clamp(min=1e-5)[:, None, None]


@HOOKS.register_module()
class RandomWalkLabelHook(PseudoLabelHook):
    """Write IRN's pseudo masks after training an ``IRNBoundaryNet``.

    For each image of ``ann_file``: its saved CAMs (``cam_dir``, written
    with the confident labels by ``tools/make_pseudo_labels.py
    --confident``) at the boundary map's stride 4, walked over the
    network's flip-averaged boundary (``models.random_walk.refine_cams``),
    background below ``bg_threshold``. Files, resume, sharding, the
    generation record (the network's weights, the CAM folder's record and
    the walk's settings) and the mIoU on ``eval_ann_file`` are
    :class:`PseudoLabelHook`'s; the images and their labels come from the
    config's ``walk_dataset`` (an image-label data set, as the CAM
    configs' test set).

    Args:
        cam_dir (str): Folder of the CAM ``.npy`` files.
        bg_threshold (float): Background score (IRN: 0.25).
        radius (int): Walk radius at stride 4 (IRN: 5).
        beta (float): Affinity exponent (IRN: 10).
        steps (int): Walk length (IRN: 256).
        ann_file, out_dir, eval_ann_file, num_workers: As
            :class:`PseudoLabelHook`'s.
    """

    def __init__(self,
                 cam_dir: str,
                 bg_threshold: float = 0.25,
                 radius: int = 5,
                 beta: float = 10,
                 steps: int = 256,
                 ann_file: str = 'ImageSets/Segmentation/train_aug.txt',
                 out_dir: str = 'irn_labels',
                 eval_ann_file: Optional[
                     str] = 'ImageSets/Segmentation/train.txt',
                 num_workers: int = 2) -> None:
        super().__init__(ann_file=ann_file, out_dir=out_dir,
                         bg_threshold=bg_threshold,
                         eval_ann_file=eval_ann_file, num_overlays=0,
                         num_workers=num_workers)
        self.cam_dir = cam_dir
        self.walk = dict(radius=radius, beta=beta, steps=steps)

    def _model_settings(self, model_cfg: dict, model) -> dict:
        return dict(
            weights_sha256=weights_digest(model),
            model_sha256=model_config_digest(model_cfg),
            cam_dir=osp.realpath(self.cam_dir),
            cam_record_sha256=file_sha256(osp.join(self.cam_dir, RECORD)),
            walk=self.walk)

    @staticmethod
    def _dataset_cfg(runner) -> dict:
        return runner.cfg.walk_dataset

    def _build_dataset(self, runner, ann_file: str):
        dataset = super()._build_dataset(runner, ann_file)
        if ann_file == self.ann_file:  # the CAMs must be complete for it
            check_complete(self.cam_dir, dataset.data_root, dataset.ann_file)
        return dataset

    def _write_one(self, model, batch: dict, threshold: float, out_dir: str,
                   overlay_dir: Optional[str], metainfo: dict) -> None:
        """Write the mask of a one-image batch."""
        sample = batch['data_samples'][0]
        keys = np.flatnonzero(sample.gt_score.cpu().numpy()) + 1
        cams = read_cams(self.cam_dir, sample.img_name, keys,
                         batch['inputs'][0].shape[1:])
        full = np.zeros((len(metainfo['classes']) - 1, *cams.shape[1:]),
                        np.float32)
        if len(keys):  # an image without classes is all background
            with torch.no_grad():
                inputs = model.data_preprocessor(batch, False)['inputs']
                boundary = model.boundary(inputs)  # the walk on its device
                scores = refine_cams(
                    strided(cams.to(boundary.device), boundary.shape),
                    boundary, cams.shape[1:], **self.walk)
            full[keys - 1] = scores.cpu().numpy()
        save_label_png(threshold_mask(full, threshold),
                       osp.join(out_dir, sample.img_name + '.png'),
                       metainfo['palette'])
