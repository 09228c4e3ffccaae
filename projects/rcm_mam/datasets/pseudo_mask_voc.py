"""PASCAL VOC with pseudo masks as labels: the stage-2 training set."""
from mmseg.registry import DATASETS

from ..utils.generation_record import check_complete
from .checked_voc import CheckedVOCDataset
from .voc_image_label import resolve_split


@DATASETS.register_module()
class PseudoMaskVOCDataset(CheckedVOCDataset):
    """mmseg's ``PascalVOCDataset`` (with the input checks of
    :class:`CheckedVOCDataset`) reading the masks that ``PseudoLabelHook``
    wrote to ``data_prefix.seg_map_path``.

    The masks hold indices into the stage-1 data set's classes, so any
    class list works (``metainfo=dict(classes=...)``, e.g. COCO's) and none
    is remapped. It refuses a mask folder whose generation did not finish
    (a killed run: masks missing), that has no record of one or that was
    made for another data root, split or label file, and reads ``trainaug.txt`` for
    ``train_aug.txt`` (or the reverse) where only that one exists. Same
    arguments as :class:`mmseg.datasets.PascalVOCDataset`.
    """

    def load_data_list(self) -> list:
        self.ann_file = resolve_split(self.ann_file)
        check_complete(self.data_prefix['seg_map_path'], self.data_root,
                       self.ann_file)
        return super().load_data_list()
