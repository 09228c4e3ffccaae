from .cam_iou_metric import CAMIoUMetric
from .present_class_ap import PresentClassAveragePrecision

__all__ = ['CAMIoUMetric', 'PresentClassAveragePrecision']
