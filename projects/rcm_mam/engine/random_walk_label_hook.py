"""RandomWalkLabelHook: pseudo masks from CAMs walked over a trained
refinement network's affinity (IRN's and PSA's semantic masks)."""
import inspect
import os.path as osp
from typing import Optional, Tuple

import numpy as np
import torch
from mmseg.registry import HOOKS
from torch import Tensor

from ..utils.errors import InputError
from ..utils.file_io import save_label_png
from ..utils.generation_record import (RECORD, check_complete, file_sha256,
                                       model_config_digest, weights_digest)
from .pseudo_label_hook import PseudoLabelHook

OUT_DIR = 'irn_labels'  # the masks' folder unless a config says otherwise


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


@HOOKS.register_module()
class RandomWalkLabelHook(PseudoLabelHook):
    """Write the random walk's pseudo masks after training a refinement
    network (``IRNBoundaryNet``, ``AffinityNet``).

    For each image of ``ann_file``: its saved CAMs (``cam_dir``, written
    with the network's training labels by ``tools/make_pseudo_labels.py
    --confident``), walked by the network's ``refine`` with the ``walk``
    settings (IRN: ``bg_threshold``, ``radius``, ``beta``, ``steps``; PSA:
    ``alpha``, ``beta``, ``steps``), the mask the argmax over the
    background and the image's classes. Files, resume, sharding, the
    generation record (the network's weights, the CAM folder's record and
    the walk's settings, defaults included) and the mIoU on
    ``eval_ann_file`` are :class:`PseudoLabelHook`'s; the images and their
    labels come from the config's ``walk_dataset`` (an image-label data
    set, as the CAM configs' test set).

    Args:
        cam_dir (str): Folder of the CAM ``.npy`` files.
        ann_file, out_dir, eval_ann_file, num_workers: As
            :class:`PseudoLabelHook`'s.
        **walk: Keyword arguments of the network's ``refine``.
    """

    def __init__(self,
                 cam_dir: str,
                 ann_file: str = 'ImageSets/Segmentation/train_aug.txt',
                 out_dir: str = OUT_DIR,
                 eval_ann_file: Optional[
                     str] = 'ImageSets/Segmentation/train.txt',
                 num_workers: int = 2,
                 **walk) -> None:
        super().__init__(ann_file=ann_file, out_dir=out_dir,
                         eval_ann_file=eval_ann_file, num_overlays=0,
                         num_workers=num_workers)
        self.cam_dir = cam_dir
        self.walk = walk

    def _threshold(self, model) -> Optional[float]:
        """The walk's background score, where it has one (IRN's)."""
        return walk_settings(model, self.walk).get('bg_threshold')

    def _model_settings(self, model_cfg: dict, model) -> dict:
        return dict(
            weights_sha256=weights_digest(model),
            model_sha256=model_config_digest(model_cfg),
            cam_dir=osp.realpath(self.cam_dir),
            cam_record_sha256=file_sha256(osp.join(self.cam_dir, RECORD)),
            walk=walk_settings(model, self.walk))

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
        mask = np.zeros(cams.shape[1:], np.uint8)
        if len(keys):  # an image without classes is all background
            with torch.no_grad():
                inputs = model.data_preprocessor(batch, False)['inputs']
                scores = model.refine(inputs, cams.to(inputs.device),
                                      **self.walk)
            mask = np.array([0, *keys], np.uint8)[
                scores.argmax(0).cpu().numpy()]
        save_label_png(mask, osp.join(out_dir, sample.img_name + '.png'),
                       metainfo['palette'])


def walk_settings(model, walk: dict) -> dict:
    """The network's ``refine`` settings: its defaults with ``walk`` over
    them; one error for a setting it does not have."""
    params = inspect.signature(model.refine).parameters
    unknown = sorted(set(walk) - set(params) - {'inputs', 'cams'})
    if unknown:
        raise InputError(
            f'RandomWalkLabelHook: {type(model).__name__}.refine has no '
            f'setting {unknown}. Fix: use '
            f'{sorted(set(params) - {"inputs", "cams"})}.')
    return {name: walk.get(name, p.default) for name, p in params.items()
            if name not in ('inputs', 'cams')}
