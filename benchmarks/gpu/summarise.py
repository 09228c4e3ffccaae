"""The figures of a GPU check: OUT_DIR/gpu_check.json and gpu_check.md.

    python benchmarks/gpu/summarise.py OUT_DIR

Reads what ``benchmarks/gpu/check.sh`` leaves in OUT_DIR: its sizes
(``check.json``), each step's outcome (``steps.jsonl``), the environment
record, and each step's own outputs in ``runs/STEP/``: MMEngine's
per-iteration scalars of a training run (seconds per iteration after the
warm-up, data time, peak GPU memory, whether the losses stayed finite),
the images/s and mIoU of the pseudo-label tool, the forward bounds of
``benchmarks/pseudo_label_speed.py`` and the metrics of ``tools/test.py``.
A step that failed or did not run has no figures, only its outcome.
The standard library only: it must report a stack that does not import.
"""
import argparse
import glob
import json
import math
import os.path as osp
import re
from typing import Any, Callable, Dict, List, Optional

RATE = re.compile(r'Pseudo labels: ([0-9.]+) images/s')


def read_json(path: str) -> Optional[dict]:
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def runner_log(work_dir: str) -> str:
    """The text of the Runner's log files in ``work_dir``."""
    return ''.join(open(p).read()
                   for p in sorted(glob.glob(f'{work_dir}/*/*.log')))


def hook_figures(work_dir: str, folder: str = 'pseudo_labels') -> Dict:
    """Images/s and mIoU of the pseudo labels written in
    ``work_dir/folder`` (none if it has none)."""
    if not osp.isdir(osp.join(work_dir, folder)):
        return {}
    rate = RATE.findall(runner_log(work_dir))
    summary = read_json(osp.join(work_dir, folder + '.json')) or {}
    figures = dict(
        images_per_s=float(rate[-1]) if rate else None,
        masks=len(glob.glob(f'{work_dir}/{folder}/*.png')),
        mIoU=summary.get('mIoU'))
    return {k: v for k, v in figures.items() if v is not None}


def train_figures(work_dir: str, warmup: int) -> Dict:
    """s/iter (mean after ``warmup`` iterations), data time, peak GPU
    memory (MiB, as MMEngine logs it on CUDA) and the losses' health."""
    rows = [json.loads(line)
            for log in sorted(glob.glob(f'{work_dir}/*/vis_data/'
                                        'scalars.json'))
            for line in open(log) if '"loss"' in line]
    if not rows:
        return {}
    timed = rows[warmup:] or rows
    figures = dict(
        iterations=len(rows), timed_iterations=len(timed),
        s_per_iter=mean([r['time'] for r in timed]),
        data_s_per_iter=mean([r['data_time'] for r in timed]),
        first_loss=rows[0]['loss'], last_loss=rows[-1]['loss'],
        last_losses={k: v for k, v in rows[-1].items()
                     if k.startswith('loss_')},
        losses_finite=all(math.isfinite(v) for r in rows
                          for k, v in r.items() if k.startswith('loss')),
        nonfinite={k: rows[-1][k] for k in rows[-1]
                   if k.startswith('nonfinite_')})
    memory = [r['memory'] for r in rows if 'memory' in r]
    if memory:
        figures['peak_memory_mib'] = max(memory)
    log = runner_log(work_dir)
    figures['distributed'] = 'Distributed training: True' in log
    hook = hook_figures(work_dir) or hook_figures(work_dir, 'irn_labels')
    if hook:  # the config's PseudoLabelHook (or the walk's) after training
        figures['pseudo_label_hook'] = hook
    return figures


def test_figures(work_dir: str) -> Dict:
    """The scalar metrics tools/test.py logged (the last test's)."""
    paths = sorted(glob.glob(f'{work_dir}/*/*.json'))
    metrics = read_json(paths[-1]) if paths else {}
    return {k: v for k, v in metrics.items() if isinstance(v, (int, float))}


def mean(values: List[float]) -> float:
    return sum(values) / len(values)


def step_figures(step: Dict, runs: str, warmup: int) -> Dict:
    work_dir = osp.join(runs, step['name'])
    if step['kind'] == 'train':
        return train_figures(work_dir, warmup)
    if step['kind'] == 'pseudo':
        return hook_figures(work_dir)
    if step['kind'] == 'confident':
        return hook_figures(work_dir, 'ir_labels')
    if step['kind'] == 'bound':
        return read_json(osp.join(work_dir, 'bounds.json')) or {}
    if step['kind'] == 'test':
        return test_figures(work_dir)
    return {}


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a is not None and b else None


def cell(value: Optional[float], digits: int = 3, suffix: str = '') -> str:
    if value is None:
        return '-'
    return f'{value:,.{digits}f}{suffix}'


def figure_of(steps: List[Dict]) -> Callable[[str, str], Any]:
    """``get(step name, key)``: a figure of a step, None if it has none."""
    by_name = {s['name']: s.get('figures', {}) for s in steps}
    return lambda name, key: by_name.get(name, {}).get(key)


def summarise(out: str) -> Dict:
    """Every step with its figures (those a failed or timed-out run left
    too), and the headline ratios."""
    check = read_json(osp.join(out, 'check.json'))
    with open(osp.join(out, 'steps.jsonl')) as f:
        steps = [json.loads(line) for line in f if line.strip()]
    for step in steps:
        if step['status'] != 'skipped':
            figures = step_figures(step, osp.join(out, 'runs'),
                                   check['warmup_iters'])
            if figures:
                step['figures'] = figures
    get = figure_of(steps)
    bound = get('forward_bound', 'multi_scale_forward')
    headline = dict(
        rcm_mam_time_x_cam={
            p: ratio(get(f'rcm_mam_{p}', 's_per_iter'),
                     get(f'cam_{p}', 's_per_iter')) for p in ('fp32', 'amp')},
        pseudo_labels_x_forward_bound={
            name: ratio(get(name, 'images_per_s'), bound)
            for name in ('pseudo_labels', 'pseudo_labels_crf')})
    return dict(check=check,
                environment=read_json(osp.join(out, 'runs',
                                               'environment.json')),
                steps=steps, headline=headline)


def device_line(summary: Dict) -> str:
    env = summary['environment'] or {}
    modules = env.get('modules', {})
    numpy = modules.get('numpy', {}).get('version', '?')
    stack = (f"torch {env.get('torch', '?')} (CUDA {env.get('torch_cuda')}"
             f"{', NCCL ' + env['nccl'] if env.get('nccl') else ''}), "
             f"Python {env.get('python', '?')}, numpy {numpy}")
    init = 'random init (ImageNet weights cannot be fetched offline)'
    if summary['check']['dry_run']:
        return (f'CPU dry run ({stack}), {init}: tiny sizes, CUDA-only '
                'steps skipped; these are not GPU figures.')
    gpu = env.get('gpu', 'no GPU')
    memory = env.get('gpu_memory_mib')
    return (f'{gpu}{f" ({memory:,} MiB)" if memory else ""}, {stack}; '
            f'{init}.')


def markdown(summary: Dict) -> str:
    """The figures, the pseudo-label table and the steps as Markdown."""
    get = figure_of(summary['steps'])
    check = summary['check']

    def run(name: str) -> str:  # s/iter | peak MiB | finite losses
        finite = get(name, 'losses_finite')
        return (f'{cell(get(name, "s_per_iter"))} | '
                f'{cell(get(name, "peak_memory_mib"), 0)} | '
                f'{"-" if finite is None else "yes" if finite else "NO"}')

    lines = [device_line(summary), '',
             '| training | s/iter | peak MiB | finite losses | AMP s/iter '
             '| AMP peak MiB | AMP finite losses |',
             '|---|---|---|---|---|---|---|']
    for label, name in (
            (f'stage 1, plain CAM ({check["cam_iters"]} iterations)',
             'cam'),
            (f'stage 1, RCM + MAM ({check["rcm_mam_iters"]} iterations)',
             'rcm_mam'),
            (f'stage 2, DeepLabV3-R101 ({check["stage2_iters"]} '
             'iterations)', 'stage2')):
        lines.append(f'| {label} | {run(name + "_fp32")} | '
                     f'{run(name + "_amp")} |')
    lines.append(f'| IRN boundary network ({check["irn_iters"]} '
                 f'iterations) | {run("irn_fp32")} | | | |')
    lines.append(f'| stage 1, the authors\' RCM + MAM on ResNet-38d '
                 f'({check.get("r38_iters", "?")} iterations) | '
                 f'{run("r38_fp32")} | | | |')
    ratios = summary['headline']['rcm_mam_time_x_cam']
    lines.append(f'| RCM + MAM / plain CAM | {cell(ratios["fp32"], 2, "x")}'
                 f' | | | {cell(ratios["amp"], 2, "x")} | | |')
    lines.append(f'| stage 1, RCM + MAM, `dist_train.sh ... 1` (NCCL, '
                 f'{check["dist_iters"]} iterations) | '
                 f'{run("rcm_mam_nccl")} | | | |')
    scales = ', '.join(f'{s:g}' for s in get('forward_bound', 'scales')
                       or []) or '?'
    flip = ' + flip' if get('forward_bound', 'flip') else ''
    multi = get('forward_bound', 'multi_scale_forward')
    lines += ['', f'| pseudo labels (scales {scales}{flip}) | images '
              '| images/s | x forward bound |',
              '|---|---|---|---|',
              f'| single-scale forward (lower bound) | '
              f'{check["pseudo_images"]} | '
              f'{cell(get("forward_bound", "single_scale_forward"), 1)} | |',
              f'| test scales and flips, forward only (bound) | '
              f'{check["pseudo_images"]} | {cell(multi, 1)} | '
              f'{cell(ratio(multi, multi), 2)} |']
    for label, name, images in (
            ('`make_pseudo_labels.py`, no CRF', 'pseudo_labels',
             check['pseudo_images']),
            ('`make_pseudo_labels.py`, dense CRF', 'pseudo_labels_crf',
             check['crf_images'])):
        rate = get(name, 'images_per_s')
        lines.append(f'| {label} | {images} | {cell(rate, 1)} | '
                     f'{cell(ratio(rate, multi), 2)} |')
    rate = get('confident_labels', 'images_per_s')
    lines.append(f'| `make_pseudo_labels.py --confident` (2 CRFs) | '
                 f'{check["pseudo_images"]} | {cell(rate, 1)} | '
                 f'{cell(ratio(rate, multi), 2)} |')
    for label, name in (('`PseudoLabelHook` after RCM + MAM training, '
                         'dense CRF', 'rcm_mam_fp32'),
                        ('the same after `dist_train.sh ... 1` (NCCL)',
                         'rcm_mam_nccl'),
                        ("`RandomWalkLabelHook` after IRN's training",
                         'irn_fp32')):
        rate = (get(name, 'pseudo_label_hook') or {}).get('images_per_s')
        lines.append(f'| {label} | {check["hook_images"]} | '
                     f'{cell(rate, 1)} | {cell(ratio(rate, multi), 2)} |')
    lines += ['', '| step | status | seconds | note |', '|---|---|---|---|']
    for step in summary['steps']:
        lines.append(f'| {step["name"]} | {step["status"]} | '
                     f'{step["seconds"]:.0f} | {step["note"]} |')
    return '\n'.join(lines) + '\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', help="check.sh's OUT_DIR")
    args = parser.parse_args()
    summary = summarise(args.out)
    table = markdown(summary)
    with open(osp.join(args.out, 'gpu_check.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    with open(osp.join(args.out, 'gpu_check.md'), 'w') as f:
        f.write(table)
    print('\n' + table)


if __name__ == '__main__':
    main()
