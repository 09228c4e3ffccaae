"""Training cost of plain CAM vs +RCM vs +MAM vs both, as ratios.

    python benchmarks/train_cost.py [--config CONFIG] [--iters 10]
        [--variants cam rcm mam rcm_mam] [--batch-size N]
        [--cfg-options KEY=VALUE ...]

Each variant (the config with the loss switches set) runs in its own
process, so that peak memory is its own: ``--warmup`` then ``--iters``
training steps (forward, backward, SGD step, SupportNet EMA update) on fixed
random batches of the config's crop size and batch size. Data loading is
left out. Memory is the peak resident set size above the process's size
after building the model (CPU), or the peak CUDA allocation (GPU). The
MainNet's parameter count is given with each.
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
import time
from typing import List

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

VARIANTS = dict(
    cam=dict(rcm_loss=None, mam_loss=None),
    rcm=dict(mam_loss=None),
    mam=dict(rcm_loss=None),
    rcm_mam=dict())


def peak_rss_mib() -> float:
    """Peak resident set size of this process (Linux), in MiB."""
    with open('/proc/self/status') as f:
        line = next(x for x in f if x.startswith('VmHWM'))
    return int(line.split()[1]) / 1024


def current_rss_mib() -> float:
    with open('/proc/self/status') as f:
        line = next(x for x in f if x.startswith('VmRSS'))
    return int(line.split()[1]) / 1024


def measure(config: str, variant: str, iters: int, warmup: int,
            options: dict) -> dict:
    """Seconds per iteration and peak memory of one variant (``options``:
    merged into the config, e.g. the batch size)."""
    import torch
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmengine.structures import PixelData  # noqa: F401
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample

    import projects.rcm_mam  # noqa: F401
    init_default_scope('mmseg')
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    cfg.model.update(VARIANTS[variant])
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    model = MODELS.build(cfg.model).to(device)
    model.init_weights()
    model.reset_support_net()
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    n, (h, w) = cfg.train_dataloader.batch_size, cfg.crop_size
    generator = torch.Generator().manual_seed(0)
    data = []
    for i in range(n):
        sample = SegDataSample(metainfo=dict(img_shape=(h, w)))
        sample.gt_score = torch.zeros(20)
        sample.gt_score[[i % 3, 3 + i % 2]] = 1
        data.append(sample)
    batch = dict(
        inputs=[torch.randint(0, 255, (3, h, w), generator=generator,
                              dtype=torch.uint8) for _ in range(n)],
        data_samples=data)
    base_rss = current_rss_mib()
    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    for i in range(warmup + iters):
        if i == warmup:
            if device == 'cuda':
                torch.cuda.synchronize()
            start = time.perf_counter()
        model.train_step(batch, optim)
        model.update_support_net()
    if device == 'cuda':
        torch.cuda.synchronize()
        memory = torch.cuda.max_memory_allocated() / 2**20
    else:
        memory = peak_rss_mib() - base_rss
    return dict(variant=variant, device=device, batch_size=n,
                crop=[h, w], s_per_iter=(time.perf_counter() - start) / iters,
                peak_mib=memory, main_net_params=sum(
                    p.numel() for p in model.main_net.parameters()))


def parse_options(options: List[str]) -> dict:
    """``KEY=VALUE`` strings parsed as MMEngine's ``--cfg-options``."""
    from mmengine.config import DictAction
    return {key: DictAction._parse_iterable(value)
            for key, value in (o.split('=', 1) for o in options)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=osp.join(
        ROOT, 'configs/synthetic/rcm_mam_r18_synthetic.py'))
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--variants', nargs='+', default=list(VARIANTS),
                        choices=VARIANTS, help='the first is the baseline')
    parser.add_argument('--batch-size', type=int,
                        help="default: the config's")
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='KEY=VALUE options of the config, e.g. '
                        'model.main_net.backbone.init_cfg=None')
    parser.add_argument('--out', help='also write the results as JSON')
    parser.add_argument('--variant', help=argparse.SUPPRESS)
    args = parser.parse_args()
    options = args.cfg_options + ([
        f'train_dataloader.batch_size={args.batch_size}']
        if args.batch_size else [])
    if args.variant:  # child process
        print(json.dumps(measure(args.config, args.variant, args.iters,
                                 args.warmup, parse_options(options))))
        return
    results = []
    for variant in args.variants:
        out = subprocess.run(
            [sys.executable, __file__, '--config', args.config, '--iters',
             str(args.iters), '--warmup', str(args.warmup), '--variant',
             variant, *(['--cfg-options', *options] if options else [])],
            capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    cam = results[0]
    print(f'config: {args.config} ({cam["device"]}, {args.iters} iterations '
          f'after {args.warmup} warm-up; batch {cam["batch_size"]}, crop '
          f'{cam["crop"][0]}x{cam["crop"][1]}, MainNet '
          f'{cam["main_net_params"] / 1e6:.1f} M parameters)')
    ratio = f'x {cam["variant"]}'
    print(f'{"variant":<9} {"s/iter":>8} {ratio:>10} '
          f'{"peak MiB":>9} {ratio:>10}')
    for r in results:
        r['time_ratio'] = r['s_per_iter'] / cam['s_per_iter']
        r['memory_ratio'] = r['peak_mib'] / cam['peak_mib']
        print(f'{r["variant"]:<9} {r["s_per_iter"]:8.3f} '
              f'{r["time_ratio"]:10.2f} {r["peak_mib"]:9.0f} '
              f'{r["memory_ratio"]:10.2f}')
    if args.out:
        from projects.rcm_mam.utils.file_io import dump_json
        dump_json(results, args.out)


if __name__ == '__main__':
    main()
