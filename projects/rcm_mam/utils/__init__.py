from .errors import InputError
from .file_io import (atomic_write, dump_json, read_label_png, save_label_png,
                      voc_palette)

__all__ = [
    'InputError', 'atomic_write', 'dump_json', 'read_label_png',
    'save_label_png', 'voc_palette'
]
