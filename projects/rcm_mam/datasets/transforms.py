"""Loading with checks, and packing of the image-level label.

mmcv/mmseg have every augmentation this project needs; what they lack is
(1) a loader that names the file and says what to do when an image or mask
is truncated or corrupt (OpenCV silently decodes a truncated JPEG, Pillow
raises without the file name), plus a range check of mask values (mmseg's
``IoUMetric`` silently drops out-of-range labels), and (2) packing of the
image-level label into the ``SegDataSample``.
"""
import mmcv
import numpy as np
import torch
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmseg.datasets.transforms import LoadAnnotations, PackSegInputs
from mmseg.registry import TRANSFORMS

from ..utils.errors import InputError
from ..utils.file_io import read_label_png
from .checks import (check_image_bytes, check_label_values,
                     check_mask_fits_image)


@TRANSFORMS.register_module()
class LoadVerifiedImageFromFile(LoadImageFromFile):
    """``LoadImageFromFile`` that rejects empty, truncated or corrupt images.

    Same arguments as :class:`mmcv.transforms.LoadImageFromFile`, but
    ``color_type`` defaults to ``'color_ignore_orientation'``: the stored
    pixels, on which VOC's and SBD's masks are drawn, whatever a JPEG's
    EXIF orientation tag says (``'color'`` applies the tag).
    """

    def __init__(self,
                 color_type: str = 'color_ignore_orientation',
                 **kwargs) -> None:
        super().__init__(color_type=color_type, **kwargs)

    def transform(self, results: dict) -> dict:
        path = results['img_path']
        data = fileio.get(path, backend_args=self.backend_args)
        check_image_bytes(path, data)
        try:
            img = mmcv.imfrombytes(data, flag=self.color_type,
                                   backend=self.imdecode_backend)
        except Exception as e:  # decoders raise many types
            img, reason = None, str(e)
        else:
            reason = 'the decoder returned nothing'
        if img is None:
            raise InputError(f'{path}: corrupt image ({reason}). Fix: '
                             'restore it from the original data set or '
                             'remove its name from the split file.')
        if self.to_float32:
            img = img.astype(np.float32)
        results.update(img=img, img_shape=img.shape[:2],
                       ori_shape=img.shape[:2])
        return results


@TRANSFORMS.register_module()
class LoadVerifiedAnnotations(LoadAnnotations):
    """``LoadAnnotations`` that names unreadable masks and checks them.

    Values must lie in ``[0, num_classes)`` or equal ``ignore_index``; both
    come from the data info (``VOCImageLabelDataset`` provides them). They
    are checked in the file's full width, before mmseg's cast to uint8
    (which would turn a 16-bit 2048 into 0 without a word), and a palette
    mask's colours against the data info's ``palette`` (if any). The mask
    must have the size of the image as loaded (``ori_shape``). An image
    without a mask (no ``seg_map_path``: a user's photo at inference)
    passes unchanged.
    """

    def transform(self, results: dict) -> dict:
        if 'seg_map_path' not in results:
            return results
        return super().transform(results)

    def _load_seg_map(self, results: dict) -> None:
        path = results['seg_map_path']
        try:
            full = read_label_png(path, results.get('palette'))
        except (OSError, SyntaxError, ValueError) as e:
            raise InputError(f'{path}: unreadable mask ({e}). Fix: restore '
                             'it from the original data set.') from None
        check_label_values(full, results['num_classes'],
                           results['ignore_index'], path)
        super()._load_seg_map(results)
        check_mask_fits_image(results['gt_seg_map'].shape,
                              results['ori_shape'], path,
                              results['img_path'])


@TRANSFORMS.register_module()
class PackWSSSInputs(PackSegInputs):
    """``PackSegInputs`` that also packs the image-level label.

    Adds ``gt_score`` to the data sample: a (C,) float multi-hot tensor over
    the foreground classes (mmpretrain's name for dense targets, so its
    multi-label metrics read it directly), where the image has one (a
    user's photo at inference has none), and ``img_name`` (the name in the
    split file) to its meta information.
    """

    def __init__(self,
                 meta_keys=('img_path', 'seg_map_path', 'ori_shape',
                            'img_shape', 'pad_shape', 'scale_factor', 'flip',
                            'flip_direction', 'reduce_zero_label',
                            'img_name')) -> None:
        super().__init__(meta_keys)

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        if 'gt_score' in results:
            packed['data_samples'].gt_score = torch.from_numpy(
                np.asarray(results['gt_score'], dtype=np.float32))
        return packed
