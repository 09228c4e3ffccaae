"""Speed and memory of pseudo-label generation.

    python benchmarks/pseudo_label_speed.py [--config CONFIG] [--images 40]
        [--data-root DIR] [--forward-only] [--out JSON]
        [--cfg-options KEY=VALUE ...]

Reports, for one model (random weights: speed does not depend on them) on
the synthetic set (or the VOC folder of ``--data-root``), on the GPU if
there is one, images/s of

- the lower bound: one single-scale forward pass per image;
- the forward bound of pseudo labels: the passes of the config's test
  scales and flips, nothing else (both bounds leave data loading out);
- pseudo-label generation (PseudoLabelHook: the config's test scales and
  flip, threshold, PNG writing), without and with dense CRF;

and the peak resident memory of generation for N and 4N images (each in its
own process), which must not grow with N since masks stream to disk. It is
measured with glibc's default allocator and with a fixed mmap threshold
(``MALLOC_MMAP_THRESHOLD_=65536``): the default one raises its threshold as
large arrays are freed, and the heap then fragments over images of varying
sizes, a growth in RSS that is not held data. ``--forward-only`` measures
the two bounds alone; ``--out`` writes the figures as JSON.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace
from typing import Sequence

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from projects.rcm_mam.utils.cli import PathDictAction  # noqa: E402
from projects.rcm_mam.utils.file_io import dump_json  # noqa: E402
ALLOCATORS = {
    'default malloc': {},
    'MALLOC_MMAP_THRESHOLD_=65536': dict(MALLOC_MMAP_THRESHOLD_='65536')
}


def setup(config: str, data_root: str, images: int,
          options: Sequence[str] = (), device: str = 'cpu'):
    """Model (on ``device``), runner stand-in and data set of the first
    ``images``; ``options``: ``KEY=VALUE`` overrides of the config."""
    import torch
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import projects.rcm_mam  # noqa: F401
    from projects.rcm_mam.utils.cli import load_config
    torch.manual_seed(0)
    init_default_scope('mmseg')
    parsed = argparse.Namespace(options=None)
    PathDictAction([], 'options')(None, parsed, list(options))
    cfg = load_config(config, parsed.options)
    cfg.test_dataloader.dataset.update(data_root=data_root,
                                       indices=images)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.to(device)
    model.eval()
    work_dir = tempfile.mkdtemp()
    return SimpleNamespace(cfg=cfg, model=model, work_dir=work_dir)


def generate(runner, crf: bool) -> float:
    """Images/s of PseudoLabelHook on the runner's images."""
    hook = make_hook(crf)
    start = time.perf_counter()
    hook.generate(runner)
    return runner.images / (time.perf_counter() - start)


def make_hook(crf: bool = False):
    """The hook on train_aug (the images), written to a temporary folder."""
    from projects.rcm_mam.engine import PseudoLabelHook
    return PseudoLabelHook(out_dir=f'pseudo_{crf}',
                           crf=dict() if crf else None, eval_ann_file=None,
                           num_overlays=0, num_workers=0)


def forward_bound(runner, multi_scale: bool = False) -> float:
    """Images/s of the network passes alone, the images loaded beforehand.

    Args:
        runner: :func:`setup`'s stand-in.
        multi_scale (bool): False: one single-scale pass per image (the
            lower bound of any inference); True: the passes of the
            model's test scales and flips (that of pseudo labels).
    """
    import torch
    from mmengine.dataset import pseudo_collate

    from projects.rcm_mam.models.cam_utils import rescale
    hook = make_hook()
    dataset = hook._build_dataset(runner, hook.ann_file)
    model = runner.model
    test_cfg = model.test_cfg
    flips = (False, True) if test_cfg.get('flip', True) else (False, )
    passes = [(scale, flip) for flip in flips for scale in
              test_cfg['scales']] if multi_scale else [(1.0, False)]
    batches = [pseudo_collate([dataset[i]]) for i in range(len(dataset))]

    def infer(batch: dict) -> None:
        images = model.data_preprocessor(batch, False)['inputs']
        with torch.no_grad():
            for scale, flip in passes:
                model.main_net(rescale(images.flip(-1) if flip else images,
                                       scale))

    infer(batches[0])  # warm-up: the first CUDA calls set up kernels
    synchronize()
    start = time.perf_counter()
    for batch in batches:
        infer(batch)
    synchronize()
    return len(batches) / (time.perf_counter() - start)


def synchronize() -> None:
    """Wait for the GPU's queued work (timing); nothing on CPU."""
    import torch
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def peak_rss_mib() -> float:
    with open('/proc/self/status') as f:
        line = next(x for x in f if x.startswith('VmHWM'))
    return int(line.split()[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=osp.join(
        ROOT, 'configs/synthetic/rcm_mam_r18_synthetic.py'))
    parser.add_argument('--data-root', help='VOC2012 folder (default: a '
                        'synthetic set made in a temporary folder)')
    parser.add_argument('--images', type=int, default=40)
    parser.add_argument('--forward-only', action='store_true',
                        help='measure the two forward bounds only')
    parser.add_argument('--out', help='also write the figures as JSON')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        metavar='KEY=VALUE',
                        help='override settings of the config, e.g. '
                        'model.main_net.backbone.init_cfg=None (no '
                        'pretrained weights to fetch)')
    parser.add_argument('--memory-only', action='store_true',
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.data_root is None:
        from tools.dataset_converters.synthetic_voc import \
            make_synthetic_voc
        out = tempfile.mkdtemp()
        make_synthetic_voc(out, 0, num_train=0, num_val=0,
                           num_aug=4 * args.images)
        args.data_root = osp.join(out, 'VOCdevkit', 'VOC2012')
    if args.memory_only:  # child: generation of --images, print peak RSS
        runner = setup(args.config, args.data_root, args.images,
                       args.cfg_options)
        runner.images = args.images
        generate(runner, crf=False)
        print(json.dumps(dict(peak_mib=peak_rss_mib())))
        return
    import torch
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    runner = setup(args.config, args.data_root, args.images,
                   args.cfg_options, device)
    runner.images = args.images
    test_cfg = runner.model.test_cfg
    figures = dict(config=args.config, images=args.images, device=device,
                   scales=list(test_cfg['scales']),
                   flip=test_cfg.get('flip', True),
                   single_scale_forward=forward_bound(runner),
                   multi_scale_forward=forward_bound(runner, True))
    print(f'\nconfig: {args.config}; {args.images} images on {device}; '
          f'test scales {figures["scales"]}, flip {figures["flip"]}')
    print(f'single-scale forward (lower bound): '
          f'{figures["single_scale_forward"]:7.2f} images/s')
    print(f'test scales + flips, forward only:  '
          f'{figures["multi_scale_forward"]:7.2f} images/s')
    if args.forward_only:
        if args.out:
            dump_json(figures, args.out)
        return
    lower = figures['single_scale_forward']
    plain = generate(runner, crf=False)
    crf = generate(runner, crf=True)
    memory = {}
    options = ['--cfg-options', *args.cfg_options] if args.cfg_options \
        else []
    for allocator, env in ALLOCATORS.items():
        for n in (args.images, 4 * args.images):
            out = subprocess.run(
                [sys.executable, __file__, '--config', args.config,
                 '--data-root', args.data_root, '--images', str(n),
                 '--memory-only', *options], capture_output=True,
                text=True, check=True, env={**os.environ, **env})
            memory[allocator, n] = json.loads(
                out.stdout.strip().splitlines()[-1])['peak_mib']
    print(f'pseudo labels, no CRF:              {plain:7.2f} images/s '
          f'({lower / plain:.1f}x the lower bound time)')
    print(f'pseudo labels, dense CRF:           {crf:7.2f} images/s '
          f'({lower / crf:.1f}x)')
    for (allocator, n), mib in memory.items():
        print(f'peak resident memory, {n:4d} images: {mib:7.0f} MiB '
              f'({allocator})')
    if args.out:
        dump_json(dict(figures, pseudo_labels=plain, pseudo_labels_crf=crf,
                       peak_rss_mib=[dict(allocator=a, images=n, mib=m)
                                     for (a, n), m in memory.items()]),
                  args.out)


if __name__ == '__main__':
    main()
