"""Write the image-level label file of a VOC data set from its XML.

    python tools/make_voc_labels.py DATA_ROOT [--out cls_labels.json]

Reads ``DATA_ROOT/Annotations/*.xml`` (every object counts, ``difficult``
ones too; part names are ignored: IRN's rules for ``cls_labels.npy``) and
writes ``DATA_ROOT/cls_labels.json``, ``{"2007_000032": ["aeroplane",
"person"], ...}``, the label file the VOC configs read (``label_file``).
"""
import argparse
import glob
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from projects.rcm_mam.datasets import VOCImageLabelDataset  # noqa: E402
from projects.rcm_mam.datasets.voc_xml import write_label_file  # noqa
from projects.rcm_mam.utils.cli import run  # noqa: E402
from projects.rcm_mam.utils.errors import InputError  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('data_root', help='the VOC2012 folder')
    parser.add_argument('--out', default='cls_labels.json',
                        help='label file, relative to DATA_ROOT or absolute')
    args = parser.parse_args()
    ann_dir = osp.join(args.data_root, 'Annotations')
    paths = sorted(glob.glob(osp.join(glob.escape(ann_dir), '*.xml')))
    if not paths:
        raise InputError(f'{ann_dir}: no XML annotation found. Fix: give the '
                         'VOC2012 folder (the one holding Annotations/), or '
                         'derive the labels from masks (label_file=None).')
    names = [osp.splitext(osp.basename(p))[0] for p in paths]
    out = osp.join(args.data_root, args.out)
    try:
        write_label_file(ann_dir, names,
                         VOCImageLabelDataset.METAINFO['classes'], out)
    except PermissionError as e:
        raise InputError(f'{out}: cannot write the label file ({e.strerror}'
                         '). Fix: pass --out with a writable path (e.g. '
                         '--out ~/cls_labels.json) and set label_file to it '
                         'in the dataset config.') from None
    print(f'{len(names)} image labels -> {out}')


if __name__ == '__main__':
    run(main)
