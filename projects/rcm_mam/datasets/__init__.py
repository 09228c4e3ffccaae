from .checked_voc import CheckedVOCDataset
from .pseudo_mask_voc import PseudoMaskVOCDataset
from .transforms import (LoadVerifiedAnnotations, LoadVerifiedImageFromFile,
                         PackWSSSInputs)
from .voc_image_label import VOCImageLabelDataset

__all__ = [
    'VOCImageLabelDataset', 'PseudoMaskVOCDataset', 'CheckedVOCDataset',
    'LoadVerifiedImageFromFile',
    'LoadVerifiedAnnotations', 'PackWSSSInputs'
]
