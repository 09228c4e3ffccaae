"""CAMs and the mask of a trained CAM model on your own images.

    python tools/cam_demo.py IMAGE_OR_DIR CONFIG CHECKPOINT
        [--labels cat,dog] [--out DIR] [--device cpu]
        [--cfg-options KEY=VALUE ...]

For each image (a file, or every .jpg/.jpeg/.png/.bmp in a folder) it
prints the image labels with the classifier's probabilities, given with
``--labels`` or else the classes the classifier puts above
``model.test_cfg.label_threshold`` (0.5; the top class at least), and
writes OUT/<image name>.png: the image, the heat map of each class's CAM
over it, then the mask (background where no class scores above
``model.test_cfg.bg_threshold``). CONFIG is a stage-1 config
(``configs/synthetic/rcm_mam_r18_synthetic.py``, ...), CHECKPOINT one that
``tools/train.py`` wrote for it.
"""
import argparse
import glob
import os
import os.path as osp
import sys
from typing import List

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmcv  # noqa: E402
from mmengine.utils import ProgressBar  # noqa: E402
from mmseg.apis import init_model  # noqa: E402
from PIL import Image  # noqa: E402

from projects.rcm_mam.apis import inference_cams  # noqa: E402
from projects.rcm_mam.apis.inference import \
    loader_color_type  # noqa: E402
from projects.rcm_mam.utils.checkpoint import (  # noqa: E402
    check_weights_fit, read_weights, use_trusted_checkpoints)
from projects.rcm_mam.utils.cli import (PathDictAction,  # noqa: E402
                                        load_config, run)
from projects.rcm_mam.utils.errors import InputError  # noqa: E402
from projects.rcm_mam.utils.file_io import atomic_write  # noqa: E402
from projects.rcm_mam.utils.visualization import cam_overlay  # noqa: E402

EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('images', help='an image, or a folder of images')
    parser.add_argument('config', help='the CAM model\'s config')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument(
        '--labels',
        help='class names in every image, comma-separated (default: the '
        'classifier\'s)')
    parser.add_argument('--out', default='work_dirs/cam_demo',
                        help='folder of the pictures')
    parser.add_argument('--device', default='cpu', help='e.g. cuda:0')
    parser.add_argument(
        '--cfg-options', nargs='+', action=PathDictAction,
        help='override settings of the config, KEY=VALUE')
    return parser.parse_args()


def image_paths(where: str) -> List[str]:
    """The image, or the images of the folder, sorted."""
    if osp.isfile(where):
        return [where]
    if not osp.isdir(where):
        raise InputError(f'{where}: no such image or folder. Fix: give the '
                         'path of an image or of a folder of images.')
    paths = sorted(p for p in glob.glob(osp.join(where, '*'))
                   if p.lower().endswith(EXTENSIONS))
    if not paths:
        raise InputError(f'{where}: no {"/".join(EXTENSIONS)} image in it. '
                         'Fix: give a folder with images.')
    return paths


def main() -> None:
    args = parse_args()
    paths = image_paths(args.images)
    use_trusted_checkpoints()
    cfg = load_config(args.config, args.cfg_options)
    if not hasattr(cfg.model, 'main_net'):
        raise InputError(f'{args.config}: not a CAM model\'s config. Fix: '
                         'give a stage-1 config (e.g. configs/synthetic/'
                         'rcm_mam_r18_synthetic.py).')
    weights = read_weights(args.checkpoint)  # a missing file stops here
    model = init_model(cfg, args.checkpoint, device=args.device)
    check_weights_fit(model, weights, args.checkpoint)
    labels = [name.strip() for name in args.labels.split(',')] \
        if args.labels else None
    os.makedirs(args.out, exist_ok=True)
    # the bar on stderr: stdout holds one line per image
    bar = ProgressBar(len(paths), file=sys.stderr) if len(paths) > 1 else None
    color_type = loader_color_type(cfg.test_dataloader.dataset.pipeline)
    for path in paths:
        sample = inference_cams(model, path, labels)
        show(sample, path, model.dataset_meta, args.out, color_type)
        if bar:
            bar.update()


def show(sample, path: str, meta: dict, out: str, color_type: str) -> None:
    """Print the image's labels, write its panels to OUT (the image read
    as the model's loader reads it, ``color_type``)."""
    keys = sample.pred_label.cpu().numpy() + 1
    probabilities = sample.pred_score.cpu().numpy()
    print(f'{path}: ' + ', '.join(
        f'{meta["classes"][k]} {probabilities[k - 1]:.2f}' for k in keys)
        + f' ({sample.metainfo["labels_from"]})', flush=True)
    image = mmcv.imread(path, color_type, channel_order='rgb')
    panels = cam_overlay(image, sample.seg_logits.data[1:].cpu().numpy(),
                         keys, sample.pred_sem_seg.data[0].cpu().numpy(),
                         meta['classes'], meta['palette'])
    name = osp.splitext(osp.basename(path))[0] + '.png'
    atomic_write(osp.join(out, name),
                 lambda tmp: Image.fromarray(panels).save(tmp, format='PNG'))


if __name__ == '__main__':
    run(main)
