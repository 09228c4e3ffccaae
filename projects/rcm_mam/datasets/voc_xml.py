"""VOC's ``Annotations/*.xml``: image labels from them, and writing them.

Image-level labels follow IRN's ``cls_labels.npy``: every ``<object>``
counts, ``difficult`` ones included; the names of an object's ``<part>``
(a person's head, hands, feet) are not classes and are left out.
"""
import os.path as osp
import xml.etree.ElementTree as ET
from typing import List, Sequence, Tuple

from ..utils.errors import InputError
from ..utils.file_io import atomic_write, dump_json
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


def save_voc_xml(path: str, size: Tuple[int, int],
                 objects: Sequence[Tuple[str, Tuple[int, int, int, int]]]
                 ) -> None:
    """Atomically write a VOC annotation.

    Args:
        path (str): ``Annotations/<name>.xml``.
        size (tuple): (H, W) of the image.
        objects (Sequence): (class name, (xmin, ymin, xmax, ymax)) per
            object, 1-based inclusive pixel coordinates as in VOC.
    """
    name = osp.splitext(osp.basename(path))[0]
    root = ET.Element('annotation')
    ET.SubElement(root, 'folder').text = 'VOC2012'
    ET.SubElement(root, 'filename').text = name + '.jpg'
    size_el = ET.SubElement(root, 'size')
    for key, value in zip(('width', 'height', 'depth'),
                          (size[1], size[0], 3)):
        ET.SubElement(size_el, key).text = str(value)
    ET.SubElement(root, 'segmented').text = '1'
    for cls, box in objects:
        obj = ET.SubElement(root, 'object')
        ET.SubElement(obj, 'name').text = cls
        ET.SubElement(obj, 'pose').text = 'Unspecified'
        ET.SubElement(obj, 'truncated').text = '0'
        ET.SubElement(obj, 'difficult').text = '0'
        box_el = ET.SubElement(obj, 'bndbox')
        for key, value in zip(('xmin', 'ymin', 'xmax', 'ymax'), box):
            ET.SubElement(box_el, key).text = str(value)
    ET.indent(root)
    atomic_write(path, lambda tmp: ET.ElementTree(root).write(
        tmp, encoding='utf-8'))
