"""PASCAL VOC with pseudo masks as labels: the stage-2 training set."""
from mmseg.datasets import PascalVOCDataset
from mmseg.registry import DATASETS

from ..utils.generation_record import check_complete


@DATASETS.register_module()
class PseudoMaskVOCDataset(PascalVOCDataset):
    """mmseg's ``PascalVOCDataset`` reading the masks that
    ``PseudoLabelHook`` wrote to ``data_prefix.seg_map_path``.

    It refuses a mask folder whose generation did not finish (a killed
    run: masks missing) or that has no record of one. Same arguments as
    :class:`mmseg.datasets.PascalVOCDataset`.
    """

    def load_data_list(self) -> list:
        check_complete(self.data_prefix['seg_map_path'])
        return super().load_data_list()
