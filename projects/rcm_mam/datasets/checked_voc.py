"""mmseg's PASCAL VOC data set with the project's input checks."""
import os.path as osp

from mmseg.datasets import PascalVOCDataset
from mmseg.registry import DATASETS

from ..utils.errors import InputError
from .checks import check_image_file
from .configured_classes import ConfiguredClasses


@DATASETS.register_module()
class CheckedVOCDataset(ConfiguredClasses, PascalVOCDataset):
    """``PascalVOCDataset`` (any class list, as ``ConfiguredClasses``) that
    checks its files when it is built: every image of the split file exists
    and is not empty or cut short, and every mask exists.

    The stage-2 configs read with mmseg's plain loaders (its inference
    entry points need a ``LoadImageFromFile`` step), so without these a
    misspelt name in ``val.txt`` or an empty image was a traceback in the
    middle of training. Reads only each file's first and last bytes.
    Same arguments as :class:`mmseg.datasets.PascalVOCDataset`.
    """

    def full_init(self) -> None:
        """Load the data list (and its ``indices`` subset), then check the
        files of the images kept."""
        if self._fully_initialized:
            return
        super().full_init()
        for i in range(len(self)):
            info = self.get_data_info(i)
            check_image_file(info['img_path'])
            mask = info.get('seg_map_path')
            if mask and not osp.isfile(mask):
                raise InputError(
                    f'{mask}: mask of {osp.basename(info["img_path"])} '
                    'does not exist. Fix: check data_prefix.seg_map_path, '
                    'or remove the name from the split file.')
