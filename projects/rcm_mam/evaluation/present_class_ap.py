"""Multi-label mAP of the CAM classifier over the classes a split contains."""
from typing import Dict, List

import torch
from mmpretrain.evaluation import AveragePrecision
from mmseg.registry import METRICS


@METRICS.register_module()
class PresentClassAveragePrecision(AveragePrecision):
    """mmpretrain's ``AveragePrecision``, averaged over the present classes.

    A class without a positive image in the split has no defined AP;
    mmpretrain counts it as 0, which would cut the mAP of a data set that
    uses 6 of VOC's 20 classes (the synthetic one) to 30 % of its value. On
    VOC ``val``, where every class occurs, both are the same.
    Reads ``pred_score`` and ``gt_score`` (both (C,)) of each data sample.
    """

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        pred = torch.stack([r['pred_score'] for r in results])
        target = torch.stack([r['gt_score'] for r in results])
        ap = self.calculate(pred, target, average=None)
        return dict(mAP=float(ap[target.sum(0) > 0].mean()))
