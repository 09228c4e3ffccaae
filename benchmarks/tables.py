"""The result tables of the README and docs/, made from benchmarks/results.

    python benchmarks/tables.py [--check]

A table in README.md or docs/*.md is written between two markers,

    <!-- table RENDERER ARGUMENT -->
    <!-- end table -->

and this script rewrites what lies between them from the JSON files the
benchmarks wrote (``benchmarks/results/``, which ARGUMENT names: a file, a
folder, or a pattern whose ``{S}`` stands for the data seeds 0 and 1), so
that no figure is copied by hand. ``--check`` changes nothing and exits
with status 1 if a file is out of date (a test runs it).
"""
import argparse
import glob
import json
import os.path as osp
import re
import sys
from typing import Callable, Dict, List

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.ablation import (BEFORE_SETTINGS,  # noqa: E402
                                 summary_markdown)
from projects.rcm_mam.utils.file_io import atomic_write  # noqa: E402

RESULTS = osp.join(ROOT, 'benchmarks', 'results')
MARKER = re.compile(r'(<!-- table (\S+) (\S+) -->\n)(.*?)(<!-- end table -->)',
                    re.S)
SEEDS = (0, 1)


def load(name: str) -> Dict:
    """A JSON file of benchmarks/results."""
    with open(osp.join(RESULTS, name)) as f:
        return json.load(f)


def markdown(header: List[str], rows: List[List]) -> str:
    """A Markdown table."""
    lines = ['| ' + ' | '.join(header) + ' |', '|---' * len(header) + '|']
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines) + '\n'


def source(*names: str) -> str:
    """The line naming the JSON files a table comes from."""
    files = ', '.join(f'`benchmarks/results/{n}`' for n in names)
    return f'\n(from {files})\n'


def pipeline(name: str) -> str:
    """The summary of tools/run_pipeline.py: stage, mIoU, seconds."""
    result = load(name)
    rows = [[r['stage'], '' if r['mIoU'] is None else f"{r['mIoU']:.2f}",
             r['seconds']] for r in result['rows']]
    rows.append(['total', '', result['total_seconds']])
    return markdown(['stage', 'mIoU', 'time (s)'], rows) + source(name)


def per_seed(pattern: str) -> Dict[int, Dict]:
    """The JSON of each data seed: ``pattern`` with {S} replaced."""
    return {s: load(pattern.format(S=s)) for s in SEEDS}


def design_scores(patterns: str) -> tuple:
    """The designs of benchmarks/explore_design.py's files (in order; a
    comma joins the patterns of several work dirs) and their seed mIoU on
    val per data seed."""
    results = [per_seed(p) for p in patterns.split(',')]
    scores = {s: {d['design']: d['val_mIoU'] for r in results
                  for d in r[s]['designs']} for s in SEEDS}
    names = list(dict.fromkeys(d['design'] for r in results for s in SEEDS
                               for d in r[s]['designs']))
    return names, scores


def design_sources(patterns: str) -> str:
    """The line naming the files of :func:`design_scores`."""
    return source(*(p.format(S='{0,1}') for p in patterns.split(',')))


def designs(pattern: str) -> str:
    """Seed mIoU on val of benchmarks/explore_design.py's designs, one
    column per data seed."""
    names, scores = design_scores(pattern)
    rows = [[f'`{n}`'] + [f'{scores[s][n]:.2f}' if n in scores[s] else ''
                          for s in SEEDS] for n in names]
    return markdown(['design', *(f'data seed {s}' for s in SEEDS)],
                    rows) + design_sources(pattern)


def designs_vs_cam(pattern: str) -> str:
    """:func:`designs` with each design's seed mIoU as a multiple of the
    ``cam`` design's of the same data seed."""
    names, scores = design_scores(pattern)
    rows = [[f'`{n}`'] + [f'{scores[s][n]:.2f}' if n in scores[s] else ''
                          for s in SEEDS] + [
        f"{scores[s][n] / scores[s]['cam']:.3f}"
        if n in scores[s] and 'cam' in scores[s] else '' for s in SEEDS]
        for n in names]
    return markdown(['design', *(f'data seed {s}' for s in SEEDS),
                     *(f'x cam, seed {s}' for s in SEEDS)],
                    rows) + design_sources(pattern)


def crf_settings(pattern: str) -> str:
    """CRF mIoU on val of benchmarks/crf_settings.py, per data seed."""
    results = per_seed(pattern)
    rows = []
    for i, row in enumerate(results[SEEDS[0]]['rows']):
        others = [results[s]['rows'][i] for s in SEEDS]
        rows.append([f"`{row['design']}`", row['setting'],
                     ' / '.join(f"{r['cam_mIoU']:.2f}" for r in others),
                     ' / '.join(f"{r['crf_mIoU']:.2f}" for r in others),
                     ' / '.join(f"{r['threshold']:g}" for r in others)])
    seeds = ' / '.join(map(str, SEEDS))
    return markdown(['design', 'CRF setting', f'no CRF, seed {seeds}',
                     f'CRF, seed {seeds}', f'CRF threshold, seed {seeds}'],
                    rows) + source(pattern.format(S='{0,1}'))


def ablation(folder: str) -> str:
    """benchmarks/ablation.py's mean and std per variant and paired
    differences."""
    name = osp.normpath(osp.join(folder, 'ablation.json'))
    result = load(name)
    return summary_markdown(result['summary'], result['paired_with_cam'],
                            result.get('settings', BEFORE_SETTINGS)
                            ) + source(name)


def ablation_compact(regimes: str) -> str:
    """benchmarks/ablation.py's means per variant and the paired
    differences with the plain CAM of the variants with RCM + MAM, for
    ``NAME=FOLDER,...`` regimes."""
    keys = ('seed_mIoU', 'crf_mIoU', 'stage2_mIoU')
    rows, names, runs = [], [], set()
    for regime in regimes.split(','):
        label, folder = regime.split('=')
        names.append(osp.normpath(osp.join(folder, 'ablation.json')))
        result = load(names[-1])
        runs.add(result['summary']['cam']['seed_mIoU']['n'])
        rows += [[label, v] + [f"{s[k]['mean']:.2f}" for k in keys]
                 for v, s in result['summary'].items()]
        rows += [[label, f'{v} - cam, paired'] + [
            f"{diff[k]['mean']:+.2f} ± {diff[k]['std']:.2f}" for k in keys]
            for v, diff in result['paired_with_cam'].items()
            if v.startswith('rcm_mam')]
    runs = ' or '.join(map(str, sorted(runs)))
    return markdown(['backbone', f'variant (mean of {runs} runs)',
                     'seed mIoU', 'CRF mIoU', 'stage 2 mIoU'],
                    rows) + source(*names)


def train_cost(name: str) -> str:
    """benchmarks/train_cost.py: s/iter and peak memory per variant."""
    rows = [[r['variant'], f"{r['s_per_iter']:.3f}",
             f"{r['time_ratio']:.2f}", f"{r['peak_mib']:.0f}",
             f"{r['memory_ratio']:.2f}"] for r in load(name)]
    return markdown(['variant', 's/iter', 'x CAM', 'peak MiB', 'x CAM'],
                    rows) + source(name)


def pseudo_label_speed(name: str) -> str:
    """benchmarks/pseudo_label_speed.py: images/s against the lower bound,
    and peak memory for N and 4N images."""
    r = load(name)
    lower = r['single_scale_forward']
    speed = [['single-scale forward (lower bound)', lower],
             ['test scales + flips, forward only', r['multi_scale_forward']],
             ['pseudo labels, no CRF', r['pseudo_labels']],
             ['pseudo labels, dense CRF', r['pseudo_labels_crf']]]
    rows = [[what, f'{v:.1f}', f'{lower / v:.1f}x'] for what, v in speed]
    memory = [[m['allocator'], m['images'], f"{m['mib']:.0f}"]
              for m in r['peak_rss_mib']]
    return (markdown([f"{r['images']} images on {r['device']}", 'images/s',
                      'time vs lower bound'], rows) + '\n' +
            markdown(['allocator', 'images', 'peak resident MiB'], memory) +
            source(name))


def huge_image(name: str) -> str:
    """benchmarks/huge_image_memory.py: peak memory per size and bound."""
    rows = [[r['size'], r['bound'] or 'none', f"{r['peak_mib']:.0f}"]
            for r in load(name)['rows']]
    return markdown(['image', 'max_long_side', 'peak resident MiB'],
                    rows) + source(name)


def random_walk(name: str) -> str:
    """benchmarks/random_walk_speed.py: the sparse walk against the dense
    matrix, time and peak memory above the torch process's."""
    result = load(name)
    rows = []
    for r in result['rows']:
        dense = r.get('dense')
        rows.append([
            r['image'], r['nodes'], f"{r['sparse']['seconds']:.2f}",
            f"{r['sparse']['peak_mib'] - r['torch_mib']:.0f}",
            f"{dense['seconds']:.1f}" if dense else 'not run',
            f"{dense['peak_mib'] - r['torch_mib']:.0f}" if dense else '-',
            f"{r['speedup']:g}x" if dense else '-'])
    return markdown(['image', 'pixels at stride 4', 'sparse s',
                     'sparse MiB', 'dense s', 'dense MiB', 'speed-up'],
                    rows) + source(name)


def walk_ceiling(name: str) -> str:
    """benchmarks/walk_ceiling.py: mIoU per source and background score,
    and the training labels' agreement with the ground truth."""
    result = load(name)
    scores = list(next(iter(result['mIoU'].values())))
    rows = [[source, *(f'{row[t]:.2f}' for t in scores)]
            for source, row in result['mIoU'].items()]
    table = markdown([f"masks of {result['split']} at background score",
                      *scores], rows)
    labels = result.get('labels')
    if labels:
        table += ('\nTraining labels of the same images: foreground '
                  f"{labels['foreground_right']}% right, background "
                  f"{labels['background_right']}% right, "
                  f"{labels['foreground_covered']}% of the true foreground "
                  'labelled.\n')
    return table + source(name)


def duration(seconds: float) -> str:
    """``13.1 min`` from a minute on, else ``71 s``."""
    return f'{seconds / 60:.1f} min' if seconds >= 60 else f'{seconds:.0f} s'


def install(name: str) -> str:
    """benchmarks/install_time.py: seconds per kind of install."""
    result = load(name)
    what = dict(cold='cold: empty pip cache, mmcv compiled',
                wheel='mmcv wheel at hand, pip cache warm',
                warm='warm: nothing changed')
    rows = [[what[k], duration(r['seconds']),
             duration(r['mmcv_build_seconds']) if r['mmcv_build_seconds']
             else '-', r['date']] for k, r in result['kinds'].items()]
    return markdown([f"install ({result['machine']})", 'time',
                     'of it, mmcv compile', 'measured'], rows) + source(name)


RENDERERS: Dict[str, Callable[[str], str]] = dict(
    pipeline=pipeline, designs=designs, designs_vs_cam=designs_vs_cam,
    crf_settings=crf_settings,
    ablation=ablation, ablation_compact=ablation_compact,
    train_cost=train_cost,
    pseudo_label_speed=pseudo_label_speed, huge_image=huge_image,
    random_walk=random_walk, walk_ceiling=walk_ceiling, install=install)


def render(text: str) -> str:
    """``text`` with every marked table made again."""
    def table(match: re.Match) -> str:
        start, renderer, argument, _, end = match.groups()
        if renderer not in RENDERERS:
            raise KeyError(f'unknown table renderer {renderer!r}')
        return start + RENDERERS[renderer](argument) + end
    return MARKER.sub(table, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true',
                        help='exit 1 if a file is out of date')
    args = parser.parse_args()
    stale = []
    for path in [osp.join(ROOT, 'README.md'),
                 *sorted(glob.glob(osp.join(ROOT, 'docs', '*.md')))]:
        with open(path) as f:
            text = f.read()
        new = render(text)
        if new != text:
            stale.append(osp.relpath(path, ROOT))
            if not args.check:
                atomic_write(path, lambda tmp: open(tmp, 'w').write(new))
    verb = 'out of date' if args.check else 'rewritten'
    print(f'{verb}: {", ".join(stale)}' if stale else 'tables up to date')
    sys.exit(1 if args.check and stale else 0)


if __name__ == '__main__':
    main()
