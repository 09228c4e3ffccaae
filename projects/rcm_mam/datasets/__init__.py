from .transforms import (LoadVerifiedAnnotations, LoadVerifiedImageFromFile,
                         PackWSSSInputs)
from .voc_image_label import VOCImageLabelDataset

__all__ = [
    'VOCImageLabelDataset', 'LoadVerifiedImageFromFile',
    'LoadVerifiedAnnotations', 'PackWSSSInputs'
]
