"""Time and peak memory of IRN's random walk: sparse steps vs the dense
transition matrix.

    python benchmarks/random_walk_speed.py [--size 250x176]
        [--scales 1.0 1.95] [--classes 2] [--dense-max-nodes 20000]
        [--out FILE.json]

For an image of ``--size`` (the synthetic set's typical size) times each
scale (1.95 gives VOC's 500 x 375 at 487 x 343), the walk runs on the
stride-4 map (IRN: radius 5, beta 10, 2^8 steps) over random smooth
boundaries and CAMs, once with ``models.random_walk.random_walk`` and once
as IRN computes it (the dense (HW, HW) matrix squared 8 times), each in a
process of its own that prints its time and peak resident memory (the
torch process alone, measured the same way, is reported beside them). The
dense form is skipped above ``--dense-max-nodes`` pixels.
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from pseudo_label_speed import peak_rss_mib  # noqa: E402

RADIUS, BETA, LOG2_STEPS = 5, 10, 8  # IRN's


def inputs(h: int, w: int, classes: int):
    """Smooth random (h, w) boundaries and (classes, h, w) CAMs."""
    import torch
    import torch.nn.functional as F
    torch.manual_seed(0)
    noise = torch.rand(classes + 1, 1, (h + 7) // 8, (w + 7) // 8)
    maps = F.interpolate(noise, size=(h, w), mode='bilinear')[:, 0]
    return maps[1:], maps[0]**4


def affinity(boundary):
    """IRN's path affinity of every pixel's pairs."""
    from projects.rcm_mam.models.pair_paths import all_offsets, path_affinity
    return path_affinity(boundary[None], all_offsets(RADIUS))[0]


def dense(cams, boundary):
    """IRN's form: the dense transition matrix squared 8 times."""
    import torch
    from projects.rcm_mam.models.random_walk import transition_weights
    h, w = boundary.shape
    n, reach = h * w, RADIUS - 1
    size = 2 * reach + 1
    weights = transition_weights(affinity(boundary), RADIUS, BETA)
    matrix = torch.zeros(n, n)
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
    j = (ys * w + xs).flatten()
    for k in range(size * size):
        dy, dx = divmod(k, size)
        dy, dx = dy - reach, dx - reach
        src_y, src_x = ys.flatten() + dy, xs.flatten() + dx
        inside = (src_y >= 0) & (src_y < h) & (src_x >= 0) & (src_x < w)
        matrix[(src_y * w + src_x)[inside], j[inside]] = weights[k][inside]
    for _ in range(LOG2_STEPS):
        matrix = matrix @ matrix
    return cams.flatten(1) @ matrix


def child(form: str, h: int, w: int, classes: int) -> None:
    """Run one form once (after a warm-up on a tiny map) and print JSON."""
    import torch
    from projects.rcm_mam.models.random_walk import random_walk
    torch.set_grad_enabled(False)
    if form == 'torch':
        print(json.dumps(dict(peak_mib=peak_rss_mib())))
        return
    walk = dense if form == 'dense' else (lambda c, b: random_walk(
        c, affinity(b), RADIUS, BETA, 2**LOG2_STEPS))
    walk(*inputs(8, 8, classes))
    cams, boundary = inputs(h, w, classes)
    start = time.perf_counter()
    walk(cams, boundary)
    print(json.dumps(dict(seconds=round(time.perf_counter() - start, 3),
                          peak_mib=round(peak_rss_mib(), 1))))


def measure(form: str, h: int, w: int, classes: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, '--child', form, str(h), str(w),
         str(classes)], check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', default='250x176', help='W x H')
    parser.add_argument('--scales', type=float, nargs='+',
                        default=[1.0, 1.95])
    parser.add_argument('--classes', type=int, default=2)
    parser.add_argument('--dense-max-nodes', type=int, default=20000)
    parser.add_argument('--out')
    parser.add_argument('--child', nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        form, *sizes = args.child
        child(form, *map(int, sizes))
        return
    width, height = map(int, args.size.split('x'))
    rows = []
    base = measure('torch', 1, 1, 1)['peak_mib']
    print(f'torch process alone: {base:.0f} MiB peak')
    for scale in args.scales:
        w, h = round(width * scale), round(height * scale)
        nodes = -(-h // 4) * -(-w // 4)
        row = dict(image=f'{w}x{h}', nodes=nodes, classes=args.classes,
                   torch_mib=base,
                   sparse=measure('sparse', -(-h // 4), -(-w // 4),
                                  args.classes))
        if nodes <= args.dense_max_nodes:
            row['dense'] = measure('dense', -(-h // 4), -(-w // 4),
                                   args.classes)
            row['speedup'] = round(row['dense']['seconds'] /
                                   row['sparse']['seconds'], 1)
        print(json.dumps(row))
        rows.append(row)
    if args.out:
        from projects.rcm_mam.utils.file_io import dump_json
        dump_json(dict(radius=RADIUS, beta=BETA, steps=2**LOG2_STEPS,
                       rows=rows), args.out)


if __name__ == '__main__':
    main()
