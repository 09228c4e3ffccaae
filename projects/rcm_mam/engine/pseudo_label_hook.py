"""PseudoLabelHook: write the pseudo masks of a split from the trained CAMs."""
import hashlib
import os
import os.path as osp
import time
from contextlib import nullcontext
from typing import List, Optional

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.dist import (barrier, broadcast_object_list, get_dist_info,
                           is_main_process)
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmseg.registry import DATASETS, HOOKS
from PIL import Image
from torch.utils.data import DataLoader, Subset

from ..datasets.checks import (check_label_values, check_mask_fits_image,
                              loaded_size)
from ..evaluation.cam_iou_metric import class_iou, iou_stats
from ..models.pseudo_mask import (DEFAULT_CRF, check_confident, check_crf,
                                  crf_refine, resolved_confident,
                                  threshold_mask, training_labels)
from ..utils.errors import InputError
from ..utils.file_io import (atomic_write, check_relative_name, dump_json,
                             read_label_png, save_label_png)
from ..utils.generation_record import (claim_folder, file_sha256,
                                       mark_complete, model_config_digest,
                                       weights_digest)
from ..utils.folder_lock import lock_folder
from ..utils.progress import Progress
from ..utils.visualization import cam_overlay


# the folder of each form of a refinement network's training labels
# (``confident=dict(form=...)``)
LABEL_FOLDERS = dict(irn='ir_labels', psa='psa_labels')


def is_valid_mask(path: str, image_path: str, color_type: str) -> bool:
    """Whether ``path`` is a complete PNG of the size of ``image_path`` as
    a loader with ``color_type`` reads it."""
    if not osp.isfile(path):
        return False
    try:
        with Image.open(path) as mask:
            mask.load()
            return mask.size[::-1] == loaded_size(image_path, color_type)
    except (OSError, SyntaxError):
        return False


@HOOKS.register_module()
class PseudoLabelHook(Hook):
    """Write one pseudo-mask PNG per image of a split after training.

    Masks are class-index PNGs with the data set's palette (VOC format),
    ``WORK_DIR/<out_dir>/<image name>.png``: the argmax of the model's
    multi-scale CAM scores with the background threshold, optionally
    refined by a dense CRF. Each file is written atomically (temporary
    name, then rename) and existing valid files are skipped, so a killed
    run resumes where it stopped; ``<out_dir>/generation.json`` records
    what decides the masks (a digest of the weights and of the image
    labels, the split, threshold, test scales, CRF ...) and whether the
    generation finished, and a run with other settings stops instead of
    resuming (``utils.generation_record``). In distributed runs rank r
    takes images r, r + world_size, ... so that each is written exactly
    once. CAMs are streamed to disk, never held for more than one image.

    Afterwards the masks of ``eval_ann_file`` that have a ground-truth mask
    are scored (mIoU), logged and saved to ``WORK_DIR/<out_dir>.json``.
    Also reachable without training: ``tools/make_pseudo_labels.py``.

    Args:
        ann_file (str): Split file of the images, relative to the test
            data set's ``data_root``. Defaults to train_aug.
        out_dir (str): Output folder inside the work dir (a relative path
            without ``..``: outputs never leave the work dir).
        bg_threshold (float, optional): Background threshold; None: the
            model's ``test_cfg.bg_threshold``.
        crf (dict, optional): Dense CRF settings, overrides of
            ``models.pseudo_mask.DEFAULT_CRF`` (unary and parameters);
            None: no CRF.
        eval_ann_file (str, optional): Split whose masks are scored (not
            with ``confident``).
        confident (dict, optional): Write a refinement network's training
            labels instead of masks (classes, 0 and 255 for unknown):
            ``form`` 'irn' (the default: IRN's confident labels,
            ``models.pseudo_mask.confident_labels``) or 'psa'
            (AffinityNet's, ``psa_labels``), with that function's keyword
            arguments, e.g. ``dict(fg_threshold=0.3, bg_threshold=0.05)``;
            ``crf`` must then be None. None: masks.
        save_cams (bool): Also save the CAM scores of each image's classes
            as float16 ``.npy`` (a dict with ``keys`` and ``cam``).
        num_overlays (int): Images of which a CAM overlay PNG is written to
            ``WORK_DIR/cam_overlays``.
        num_workers (int): Data loading processes.
    """
    priority = 'LOW'

    def __init__(self,
                 ann_file: str = 'ImageSets/Segmentation/train_aug.txt',
                 out_dir: str = 'pseudo_labels',
                 bg_threshold: Optional[float] = None,
                 crf: Optional[dict] = None,
                 eval_ann_file: Optional[
                     str] = 'ImageSets/Segmentation/train.txt',
                 save_cams: bool = False,
                 num_overlays: int = 8,
                 num_workers: int = 2,
                 confident: Optional[dict] = None) -> None:
        check_relative_name(out_dir, 'PseudoLabelHook out_dir',
                            fix='give a folder inside the work dir, like '
                            'pseudo_labels')
        self.ann_file = ann_file
        self.out_dir = out_dir
        self.bg_threshold = bg_threshold
        self.crf = crf
        self.eval_ann_file = eval_ann_file
        self.save_cams = save_cams
        self.num_overlays = num_overlays
        self.num_workers = num_workers
        if crf is not None:
            check_crf(crf, 'PseudoLabelHook crf')
        if confident is not None:
            check_confident(confident, crf)
            confident = resolved_confident(confident)
        self.confident = confident

    def after_train(self, runner) -> None:
        self.generate(runner)

    def generate(self, runner) -> Optional[dict]:
        """Write the masks; return the evaluation summary (rank 0)."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        model.eval()
        threshold = self._threshold(model)
        out_dir = osp.join(runner.work_dir, self.out_dir)
        dataset = self._build_dataset(runner, self.ann_file)
        color_type = dataset.pipeline.transforms[0].color_type
        rank, world_size = get_dist_info()
        self._claim(out_dir, dict(
            self._data_settings(dataset, threshold, color_type),
            **self._model_settings(runner.cfg.model, model)))
        shard = range(rank, len(dataset), world_size)
        todo = [
            i for i in shard if not is_valid_mask(
                self._mask_path(out_dir, dataset.get_data_info(i)),
                dataset.get_data_info(i)['img_path'], color_type)
        ]
        print_log(f'Pseudo labels of {self.ann_file} -> {out_dir}: '
                  f'{len(todo)} to write, {len(shard) - len(todo)} already '
                  f'done (rank {rank}/{world_size}).', logger='current')
        self._write(model, dataset, todo, threshold, out_dir,
                    runner.work_dir, first=rank == 0)
        barrier()
        if not is_main_process():
            return None
        mark_complete(out_dir)
        if self.eval_ann_file and self.confident is None:
            return self._evaluate(runner, out_dir, threshold)
        return None

    @staticmethod
    def _claim(out_dir: str, settings: dict) -> None:
        """Lock the folder for this run and record or check its settings on
        rank 0 (whose weights and data decide), the outcome shared with
        every rank."""
        outcome = [None]
        if is_main_process():
            try:
                lock_folder(out_dir, 'pseudo-mask generation')
                claim_folder(out_dir, settings, has_masks=osp.isdir(
                    out_dir) and any(f.endswith('.png')
                                     for f in os.listdir(out_dir)))
            except InputError as e:
                outcome = [str(e)]
        broadcast_object_list(outcome)
        if outcome[0] is not None:
            raise InputError(outcome[0])

    def _threshold(self, model) -> float:
        """The background threshold: the hook's, else the model's."""
        return self.bg_threshold if self.bg_threshold is not None \
            else model.test_cfg['bg_threshold']

    def _data_settings(self, dataset, threshold: float,
                       color_type: str) -> dict:
        """What of the data (and the threshold) decides every mask:
        recorded in the folder."""
        labels = hashlib.sha256(b''.join(
            dataset.get_data_info(i)['gt_score'].tobytes()
            for i in range(len(dataset))))
        return dict(
            data_root=osp.realpath(dataset.data_root),
            ann_file=osp.realpath(dataset.ann_file),
            labels_sha256=labels.hexdigest(),
            label_file=dataset.label_file and osp.realpath(
                dataset.label_file),
            label_file_sha256=file_sha256(dataset.label_file),
            bg_threshold=threshold, color_type=color_type)

    def _model_settings(self, model_cfg: dict, model) -> dict:
        """What of the CAM model (and the refinement) decides every mask:
        recorded in the folder."""
        test_cfg = model.test_cfg
        return dict(
            weights_sha256=weights_digest(model.main_net),
            model_sha256=model_config_digest(model_cfg),
            scales=test_cfg['scales'], flip=test_cfg.get('flip', True),
            max_long_side=test_cfg.get('max_long_side'),
            crf=None if self.crf is None else {**DEFAULT_CRF, **self.crf},
            **({} if self.confident is None else dict(
                confident=self.confident)))

    def _build_dataset(self, runner, ann_file: str):
        """The test data set on ``ann_file``, loading images only, with the
        test pipeline's image loader (its orientation choice)."""
        cfg = self._dataset_cfg(runner).copy()
        cfg.update(ann_file=ann_file, pipeline=[
            cfg.pipeline[0],
            dict(type='PackWSSSInputs')
        ])
        return DATASETS.build(cfg)

    @staticmethod
    def _dataset_cfg(runner) -> dict:
        """The data set whose images get masks: the test data set's."""
        return runner.cfg.test_dataloader.dataset

    @staticmethod
    def _mask_path(out_dir: str, info: dict) -> str:
        return osp.join(out_dir, info['img_name'] + '.png')

    def _write(self, model, dataset, todo: List[int], threshold: float,
               out_dir: str, work_dir: str, first: bool) -> None:
        """Compute and write the masks of images ``todo``, one at a time,
        with background below ``threshold``."""
        loader = DataLoader(Subset(dataset, todo), batch_size=1,
                            num_workers=self.num_workers,
                            collate_fn=pseudo_collate)
        overlay_dir = osp.join(work_dir, 'cam_overlays')
        start = time.perf_counter()
        with Progress(len(todo)) if first and todo else nullcontext() as bar:
            for count, batch in enumerate(loader):
                overlay = first and count < self.num_overlays
                self._write_one(model, batch, threshold, out_dir,
                                overlay_dir if overlay else None,
                                dataset.metainfo)
                if bar is not None:
                    bar.update()
        if first and todo:
            rate = len(todo) / max(time.perf_counter() - start, 1e-9)
            print_log(f'Pseudo labels: {rate:.2f} images/s on rank 0.',
                      logger='current')

    def _write_one(self, model, batch: dict, threshold: float, out_dir: str,
                   overlay_dir: Optional[str], metainfo: dict) -> None:
        """Write the mask (and CAMs; an overlay to ``overlay_dir`` unless
        None) of a one-image batch."""
        with torch.no_grad():
            sample = model.test_step(batch)[0]
        scores = sample.seg_logits.data[1:].cpu().numpy()
        keys = np.flatnonzero(sample.gt_score.cpu().numpy()) + 1
        image = batch['inputs'][0].permute(1, 2, 0).numpy()[..., ::-1]
        if self.confident is not None:
            mask = training_labels(image, scores, keys, self.confident)
        elif self.crf is None:
            mask = threshold_mask(scores, threshold)
        else:
            mask = crf_refine(image, scores, threshold, keys, self.crf)
        path = osp.join(out_dir, sample.img_name + '.png')
        if self.save_cams:
            cams = dict(keys=keys - 1, cam=scores[keys - 1].astype(np.float16))
            atomic_write(path[:-4] + '.npy', lambda tmp: np.save(tmp, cams))
        save_label_png(mask, path, metainfo['palette'])
        if overlay_dir is not None:
            overlay = Image.fromarray(
                cam_overlay(image, scores, keys, mask, metainfo['classes'],
                            metainfo['palette']))
            atomic_write(osp.join(overlay_dir, sample.img_name + '.png'),
                         lambda tmp: overlay.save(tmp, format='PNG'))

    def _evaluate(self, runner, out_dir: str, threshold: float) -> dict:
        """mIoU of the written masks of ``eval_ann_file`` against GT
        (``threshold``: their background threshold, recorded)."""
        dataset = self._build_dataset(runner, self.eval_ann_file)
        classes = dataset.metainfo['classes']
        stats, count = 0, 0
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            if 'seg_map_path' not in info:
                continue
            pred = read_label_png(self._mask_path(out_dir, info))
            gt = read_label_png(info['seg_map_path'], info['palette'])
            check_label_values(gt, len(classes), dataset.ignore_index,
                               info['seg_map_path'])
            check_mask_fits_image(gt.shape, pred.shape, info['seg_map_path'],
                                  info['img_path'])
            stats = stats + iou_stats(pred, gt, len(classes),
                                      dataset.ignore_index)
            count += 1
        ious = class_iou(stats) * 100
        summary = dict(
            split=self.eval_ann_file, images=count,
            crf=self.crf is not None, bg_threshold=threshold,
            mIoU=round(float(np.nanmean(ious)), 2),
            per_class_IoU={
                c: round(float(v), 2)
                for c, v in zip(classes, ious) if not np.isnan(v)
            })
        dump_json(summary, out_dir.rstrip('/') + '.json')
        print_log(f'Pseudo-mask mIoU on {self.eval_ann_file} ({count} '
                  f'images): {summary["mIoU"]:.2f}', logger='current')
        return summary
