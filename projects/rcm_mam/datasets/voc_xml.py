"""Image labels from VOC's ``Annotations/*.xml``.

Image-level labels follow IRN's ``cls_labels.npy``: every ``<object>``
counts, ``difficult`` ones included; the names of an object's ``<part>``
(a person's head, hands, feet) are not classes and are left out.
"""
import os.path as osp
import xml.etree.ElementTree as ET
from typing import List, Sequence

from ..utils.errors import InputError
from ..utils.file_io import dump_json
from ..utils.progress import Progress


def xml_classes(path: str, classes: Sequence[str]) -> List[str]:
    """The sorted class names of the objects in VOC XML file ``path``.

    Raises:
        InputError: If the file is missing, not XML, or names an object
            class outside ``classes``.
    """
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        raise InputError(f'{path}: unreadable annotation ({e}). Fix: '
                         'restore it from the original data set.')
    names = {(obj.findtext('name') or '').strip()
             for obj in root.iter('object')}
    unknown = sorted(names - set(classes[1:]))
    if unknown:
        raise InputError(f'{path}: object class {unknown[0]!r} is not one '
                         'of the configured classes. Fix: correct the file '
                         'or the metainfo classes.')
    return sorted(names)


def write_label_file(ann_dir: str, names: Sequence[str],
                     classes: Sequence[str], path: str) -> None:
    """Atomically write the label file (JSON, image name to its class
    names) of images ``names`` from ``ann_dir/<name>.xml``."""
    table = {}
    with Progress(len(names)) as progress:
        for name in names:
            table[name] = xml_classes(osp.join(ann_dir, name + '.xml'),
                                      classes)
            progress.update()
    dump_json(table, path)

