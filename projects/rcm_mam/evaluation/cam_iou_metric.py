"""CAM (seed) mIoU over a sweep of background thresholds, with/without CRF."""
import logging
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS
from prettytable import PrettyTable

from ..models.pseudo_mask import check_crf, crf_refine, threshold_mask
from ..utils.errors import InputError
from ..utils.file_io import dump_json


def iou_stats(pred: np.ndarray, gt: np.ndarray, num_classes: int,
              ignore_index: int) -> np.ndarray:
    """Per-class intersection, predicted and ground-truth pixel counts
    (mmseg's ``IoUMetric.intersect_and_union``).

    Args:
        pred (np.ndarray): (H, W) predicted labels.
        gt (np.ndarray): (H, W) ground-truth labels.
        num_classes (int): K, background included.
        ignore_index (int): Ground-truth value left out.

    Returns:
        np.ndarray: (3, K) int64 rows: intersection, prediction, label.
    """
    inter, _, pred_area, gt_area = IoUMetric.intersect_and_union(
        torch.from_numpy(pred.astype(np.int64)),
        torch.from_numpy(gt.astype(np.int64)), num_classes, ignore_index)
    return torch.stack([inter, pred_area, gt_area]).long().numpy()


def class_iou(stats: np.ndarray) -> np.ndarray:
    """(K,) IoU from summed :func:`iou_stats`; NaN for classes never seen."""
    inter, pred, label = stats
    union = pred + label - inter
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(union > 0, inter / union, np.nan)


@METRICS.register_module()
class CAMIoUMetric(BaseMetric):
    """mIoU of CAM pseudo masks for a sweep of background thresholds.

    Reads ``seg_logits`` as :class:`MainSupportCAMNet` predicts it: channel
    0 is the configured background threshold, channels 1.. the class scores
    in [0, 1]. For each threshold ``t`` of the sweep the mask is the argmax
    over [t, scores]; with ``crf`` set it is also refined by a dense CRF (for
    ``crf_thresholds``, since CRF is slow). The returned metrics are the
    mIoU at the configured threshold (``mIoU``: a held-out figure when that
    threshold was chosen elsewhere), the best threshold of the sweep and its
    mIoU (``oracle_*``: tuned on this split's ground truth), the full curve
    and the per-class IoU, each also for CRF. MMEngine writes them all to the
    run's JSON; ``out_file`` writes them to a JSON file too.

    Args:
        thresholds (Sequence[float]): Background thresholds to sweep.
        crf (dict, optional): Dense CRF settings, overrides of
            ``models.pseudo_mask.DEFAULT_CRF`` (unary and parameters);
            None: no CRF.
        crf_thresholds (Sequence[float], optional): Thresholds scored with
            CRF. Defaults to the configured threshold only.
        ignore_index (int): Ground-truth value left out. Defaults to 255.
        out_file (str, optional): Also write the results here (JSON).
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Metric name prefix. Defaults to 'cam'.
    """
    default_prefix = 'cam'

    def __init__(self,
                 thresholds: Sequence[float] = tuple(
                     np.round(np.arange(0.025, 0.525, 0.025), 3)),
                 crf: Optional[dict] = None,
                 crf_thresholds: Optional[Sequence[float]] = None,
                 ignore_index: int = 255,
                 out_file: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.thresholds = [float(t) for t in thresholds]
        self.crf = crf
        self.crf_thresholds = crf_thresholds
        self.ignore_index = ignore_index
        self.out_file = out_file
        if crf is not None:
            check_crf(crf, 'CAMIoUMetric crf')

    def _sweeps(self, configured: float) -> Dict[str, List[float]]:
        """The thresholds to score, without and with CRF."""
        sweeps = dict(plain=sorted({*self.thresholds, configured}))
        if self.crf is not None:
            sweeps['crf'] = sorted({*(self.crf_thresholds or []), configured})
        return sweeps

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Per image, the IoU statistics of every threshold."""
        num_classes = len(self.dataset_meta['classes'])
        for i, sample in enumerate(data_samples):
            if sample.get('labels_from') == 'classifier':
                raise InputError(
                    f'{sample.get("img_path", "an image")}: no image label, '
                    'so its CAMs are of the classes the classifier chose, '
                    'and CAM mIoU scores the CAMs of the image\'s labels. '
                    'Fix: give the data set its image labels (label_file, '
                    'or masks to derive them from).')
            scores = sample['seg_logits']['data'].cpu().numpy()
            gt = sample['gt_sem_seg']['data'][0].cpu().numpy()
            configured = round(float(scores[0, 0, 0]), 4)  # float32
            result = dict(configured=configured)
            for name, thresholds in self._sweeps(configured).items():
                stats = []
                for t in thresholds:
                    if name == 'crf':
                        image = data_batch['inputs'][i].permute(
                            1, 2, 0).cpu().numpy()[..., ::-1]  # BGR->RGB
                        keys = np.flatnonzero(sample['gt_score'].cpu()) + 1
                        mask = crf_refine(image, scores[1:], t, keys,
                                          self.crf)
                    else:
                        mask = threshold_mask(scores[1:], t)
                    stats.append(iou_stats(mask, gt, num_classes,
                                           self.ignore_index))
                result[name] = (thresholds, np.stack(stats))
            self.results.append(result)

    def compute_metrics(self, results: list) -> Dict:
        """mIoU at the configured threshold, the best one, the curves."""
        classes = self.dataset_meta['classes']
        configured = results[0]['configured']
        metrics = dict(threshold=configured)
        for name in results[0]:
            if name == 'configured':
                continue
            thresholds = results[0][name][0]
            stats = sum(r[name][1] for r in results)  # (T, 3, K)
            ious = np.stack([class_iou(s) for s in stats]) * 100
            curve = np.nanmean(ious, axis=1)
            best = int(np.nanargmax(curve))
            at = thresholds.index(configured)
            key = '' if name == 'plain' else 'crf_'
            metrics.update({
                f'{key}mIoU': round(float(curve[at]), 2),
                f'{key}oracle_mIoU': round(float(curve[best]), 2),
                f'{key}oracle_threshold': thresholds[best],
                f'{key}curve': {
                    f'{t:g}': round(float(v), 2)
                    for t, v in zip(thresholds, curve)
                },
                f'{key}per_class_IoU': {
                    c: round(float(v), 2)
                    for c, v in zip(classes, ious[at]) if not np.isnan(v)
                },
            })
            self._log_table(name, thresholds, curve, classes, ious[at],
                            configured)
        if self.out_file:
            dump_json(metrics, self.out_file)
        return metrics

    @staticmethod
    def _log_table(name, thresholds, curve, classes, ious, configured):
        table = PrettyTable(['threshold', 'mIoU'])
        for t, v in zip(thresholds, curve):
            table.add_row([f'{t:g}' + (' *' if t == configured else ''),
                           f'{v:.2f}'])
        print_log(f'CAM mIoU by background threshold ({name}; * = '
                  f'configured):\n{table.get_string()}', logger='current')
        table = PrettyTable(['class', 'IoU'])
        for c, v in zip(classes, ious):
            if not np.isnan(v):
                table.add_row([c, f'{v:.2f}'])
        print_log(f'per-class IoU at threshold {configured:g} ({name}):\n'
                  f'{table.get_string()}', logger='current',
                  level=logging.INFO)
