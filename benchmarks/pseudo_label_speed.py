"""Speed and memory of pseudo-label generation.

    python benchmarks/pseudo_label_speed.py [--config CONFIG] [--images 40]

Reports, for one model (random weights: speed does not depend on them) on
the synthetic set, images/s of

- the lower bound: one single-scale forward pass per image;
- pseudo-label generation (PseudoLabelHook: the config's test scales and
  flip, threshold, PNG writing), without and with dense CRF;

and the peak resident memory of generation for N and 4N images (each in its
own process), which must not grow with N since masks stream to disk. It is
measured with glibc's default allocator and with a fixed mmap threshold
(``MALLOC_MMAP_THRESHOLD_=65536``): the default one raises its threshold as
large arrays are freed, and the heap then fragments over images of varying
sizes, a growth in RSS that is not held data.
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

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
ALLOCATORS = {
    'default malloc': {},
    'MALLOC_MMAP_THRESHOLD_=65536': dict(MALLOC_MMAP_THRESHOLD_='65536')
}


def setup(config: str, data_root: str, images: int):
    """Model, runner stand-in and data set of the first ``images``."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import projects.rcm_mam  # noqa: F401
    torch.manual_seed(0)
    init_default_scope('mmseg')
    cfg = Config.fromfile(config)
    cfg.test_dataloader.dataset.update(data_root=data_root,
                                       indices=images)
    model = MODELS.build(cfg.model)
    model.init_weights()
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


def single_forward(runner) -> float:
    """Images/s of one single-scale forward pass per image (lower bound)."""
    import torch
    from mmengine.dataset import pseudo_collate
    hook = make_hook()
    dataset = hook._build_dataset(runner, hook.ann_file)
    model = runner.model
    start = time.perf_counter()
    for i in range(len(dataset)):
        data = model.data_preprocessor(pseudo_collate([dataset[i]]), False)
        with torch.no_grad():
            model.main_net(data['inputs'])
    return len(dataset) / (time.perf_counter() - start)


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
    parser.add_argument('--memory-only', action='store_true',
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.data_root is None:
        from projects.rcm_mam.datasets.synthetic_voc import \
            make_synthetic_voc
        out = tempfile.mkdtemp()
        make_synthetic_voc(out, 0, num_train=0, num_val=0,
                           num_aug=4 * args.images)
        args.data_root = osp.join(out, 'VOCdevkit', 'VOC2012')
    if args.memory_only:  # child: generation of --images, print peak RSS
        runner = setup(args.config, args.data_root, args.images)
        runner.images = args.images
        generate(runner, crf=False)
        print(json.dumps(dict(peak_mib=peak_rss_mib())))
        return
    runner = setup(args.config, args.data_root, args.images)
    runner.images = args.images
    lower = single_forward(runner)
    plain = generate(runner, crf=False)
    crf = generate(runner, crf=True)
    memory = {}
    for allocator, env in ALLOCATORS.items():
        for n in (args.images, 4 * args.images):
            out = subprocess.run(
                [sys.executable, __file__, '--config', args.config,
                 '--data-root', args.data_root, '--images', str(n),
                 '--memory-only'], capture_output=True, text=True,
                check=True, env={**os.environ, **env})
            memory[allocator, n] = json.loads(
                out.stdout.strip().splitlines()[-1])['peak_mib']
    test_cfg = runner.model.test_cfg
    print(f'\nconfig: {args.config}; {args.images} images; test scales '
          f'{test_cfg["scales"]}, flip {test_cfg.get("flip", True)}')
    print(f'single-scale forward (lower bound): {lower:7.2f} images/s')
    print(f'pseudo labels, no CRF:              {plain:7.2f} images/s '
          f'({lower / plain:.1f}x the lower bound time)')
    print(f'pseudo labels, dense CRF:           {crf:7.2f} images/s '
          f'({lower / crf:.1f}x)')
    for (allocator, n), mib in memory.items():
        print(f'peak resident memory, {n:4d} images: {mib:7.0f} MiB '
              f'({allocator})')


if __name__ == '__main__':
    main()
