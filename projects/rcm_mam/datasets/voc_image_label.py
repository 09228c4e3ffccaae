"""PASCAL VOC (+ SBD) with image-level labels for weakly supervised use."""
import logging
import os.path as osp
from typing import List, Optional

from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset, PascalVOCDataset
from mmseg.registry import DATASETS

from ..utils.errors import InputError
from ..utils.file_io import check_relative_name
from .checks import check_image_file
from .configured_classes import ConfiguredClasses
from .image_labels import derive_labels, read_label_file


# The two names of VOC2012 + SBD's training split (10,582 images): IRN's and
# most WSSS code's, and that of MMSegmentation's voc_aug.py converter.
SPLIT_ALIASES = {'train_aug.txt': 'trainaug.txt',
                 'trainaug.txt': 'train_aug.txt'}


def resolve_split(path: str) -> str:
    """``path``, or the other name of the train_aug split where only that
    one exists."""
    other = SPLIT_ALIASES.get(osp.basename(path))
    if other is None or osp.isfile(path):
        return path
    alias = osp.join(osp.dirname(path), other)
    if not osp.isfile(alias):
        return path
    print_log(f'{path} not found: reading {alias}, its other name.',
              logger='current')
    return alias


@DATASETS.register_module()
class VOCImageLabelDataset(ConfiguredClasses, BaseSegDataset):
    """Images with image-level labels, and their masks where present.

    The layout is PASCAL VOC2012 with SBD::

        data_root/
            JPEGImages/2007_000032.jpg
            Annotations/2007_000032.xml            (for cls_labels.json)
            SegmentationClass/2007_000032.png      (VOC's masks)
            SegmentationClassAug/2007_000032.png   (SBD's, class indices)
            ImageSets/Segmentation/{train_aug,train,val}.txt

    Each sample carries ``gt_score``, the (C,) multi-hot image label over the
    foreground classes ``classes[1:]`` (class 0 is the background), and
    ``seg_map_path`` when the mask exists (used for evaluation only: the
    training pipeline does not load it). Labels come from ``label_file``
    (see :mod:`.image_labels` for the formats) or, if it is None, from the
    classes present in the masks (values other than 0 and ``ignore_index``),
    cached in ``label_cache``. Images whose label set is empty are skipped
    with a warning: they have nothing to localise.

    Any class list works: pass ``metainfo=dict(classes=(...))`` with the
    background first and the classes in the order of the mask values; masks
    are never remapped (subsets of VOC's classes are not supported).

    Args:
        ann_file (str): Split file, one image name per line.
        label_file (str, optional): Image-level label file. Defaults to None.
        label_cache (str, optional): Where labels derived from masks are
            cached. Defaults to ``<seg_map_path>_image_labels.json``.
        palette_check (bool): Refuse a palette mask whose colours disagree
            with the classes' (``metainfo['palette']``) for the indices it
            uses (renumbered indices); False reads masks by index alone.
            Defaults to True.
        **kwargs: See :class:`mmseg.datasets.BaseSegDataset`.
    """
    METAINFO = PascalVOCDataset.METAINFO

    def __init__(self,
                 ann_file: str,
                 label_file: Optional[str] = None,
                 label_cache: Optional[str] = None,
                 palette_check: bool = True,
                 data_prefix: dict = dict(
                     img_path='JPEGImages',
                     seg_map_path='SegmentationClassAug'),
                 **kwargs) -> None:
        self.label_file = label_file
        self.label_cache = label_cache
        self.palette_check = palette_check
        super().__init__(ann_file=ann_file, data_prefix=data_prefix,
                         **kwargs)

    def _join_prefix(self) -> None:
        """Fail early, naming the folder, when ``data_root`` is missing."""
        if not osp.isdir(self.data_root):
            raise InputError(
                f'{self.data_root}: data_root does not exist. Fix: set '
                'data_root in the config (--cfg-options '
                'train_dataloader.dataset.data_root=...), or make the '
                'synthetic set with '
                'tools/dataset_converters/make_synthetic_voc.py.')
        for key in ('label_file', 'label_cache'):
            value = getattr(self, key)
            if value and not osp.isabs(value):
                setattr(self, key, osp.join(self.data_root, value))
        super()._join_prefix()

    def _read_split(self) -> List[str]:
        """Image names of the split file, checked to be plain and unique.

        Read as ``utf-8-sig``: a byte-order mark (left by some Windows
        editors) would otherwise become part of the first name.
        ``train_aug.txt`` and ``trainaug.txt`` stand for each other.
        """
        self.ann_file = resolve_split(self.ann_file)
        if not osp.isfile(self.ann_file):
            raise InputError(f'{self.ann_file}: split file not found. Fix: '
                             'check ann_file and data_root in the config '
                             '(train_aug.txt or trainaug.txt comes with SBD; '
                             'see README).')
        with open(self.ann_file, encoding='utf-8-sig') as f:
            lines = [(i, line.strip()) for i, line in enumerate(f, 1)
                     if line.strip()]
        first_line = {}
        for number, name in lines:
            check_relative_name(name, f'{self.ann_file}:{number}')
            if name in first_line:
                raise InputError(
                    f'{self.ann_file}:{number}: {name!r} is listed again '
                    f'(first on line {first_line[name]}), so it would be '
                    'counted twice. Fix: remove the repeated line.')
            first_line[name] = number
        if not lines:
            raise InputError(f'{self.ann_file}: split file lists no image. '
                             'Fix: write one image name per line (like '
                             '2007_000032), or point ann_file to another '
                             'split.')
        return [name for _, name in lines]

    def _load_labels(self, names: List[str], mask_paths: dict) -> dict:
        """Image-level labels of ``names`` from the label file or masks."""
        classes = list(self._metainfo['classes'])
        if self.label_file:
            return read_label_file(self.label_file, names, classes)
        missing = [p for p in mask_paths.values() if not osp.isfile(p)]
        if missing:
            raise InputError(f'{missing[0]}: mask not found ({len(missing)} '
                             'missing in all), so the image labels cannot be '
                             'derived. Fix: set label_file in the dataset '
                             'config, or check data_prefix.seg_map_path.')
        cache = self.label_cache or (
            self.data_prefix['seg_map_path'].rstrip('/') +
            '_image_labels.json')
        return derive_labels(mask_paths, classes, self.ignore_index, cache,
                             self._palette())

    def _palette(self) -> Optional[list]:
        """The classes' colours palette masks must show; None: no check."""
        return self._metainfo['palette'] if self.palette_check else None

    def load_data_list(self) -> List[dict]:
        """One dict per image: paths, ``gt_score`` and loading options."""
        names = self._read_split()
        img_dir = self.data_prefix['img_path']
        seg_dir = self.data_prefix.get('seg_map_path')
        mask_paths = {
            n: osp.join(seg_dir, n + self.seg_map_suffix)
            for n in names
        } if seg_dir else {}
        img_paths = {n: osp.join(img_dir, n + self.img_suffix)
                     for n in names}
        for path in img_paths.values():  # before the labels: a misspelt
            check_image_file(path)  # name is a missing image, not label
        labels = self._load_labels(names, mask_paths)
        data_list, unlabelled = [], []
        for name in names:
            if not labels[name].any():
                unlabelled.append(name)
                continue
            img_path = img_paths[name]
            info = dict(img_path=img_path, img_name=name,
                        gt_score=labels[name], label_map=None,
                        reduce_zero_label=False, seg_fields=[],
                        num_classes=len(self._metainfo['classes']),
                        ignore_index=self.ignore_index,
                        palette=self._palette())
            if osp.isfile(mask_paths.get(name, '')):
                info['seg_map_path'] = mask_paths[name]
            data_list.append(info)
        if unlabelled:
            print_log(f'{self.ann_file}: skipped {len(unlabelled)} images '
                      f'with no foreground class (e.g. {unlabelled[:3]}).',
                      logger='current', level=logging.WARNING)
        return data_list
