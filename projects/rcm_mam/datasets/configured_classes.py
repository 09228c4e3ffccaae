"""Data sets whose masks are indexed by the configured class list."""
from ..utils.file_io import voc_palette


class ConfiguredClasses:
    """Mix-in for an mmseg data set: any class list, masks never remapped.

    mmseg remaps mask values when ``metainfo`` names other classes than the
    data set's ``METAINFO`` (and refuses classes outside it). The masks
    this project reads (VOC's, those converted from COCO's instances, the
    pseudo masks it writes) hold indices into the configured classes,
    background first, so they are read as they are; a custom class list
    without its own palette gets the VOC colours. Put it before the mmseg
    base class.
    """

    @classmethod
    def get_label_map(cls, new_classes=None) -> None:
        """Masks are indexed by the configured classes: never remapped."""
        return None

    def _update_palette(self) -> list:
        """The configured palette, or VOC colours for a custom class list."""
        palette = self._metainfo.get('palette', [])
        num_classes = len(self._metainfo['classes'])
        if len(palette) == num_classes:
            return list(palette)
        return voc_palette(num_classes).tolist()
