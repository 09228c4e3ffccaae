"""Ablation on the synthetic set: plain CAM vs +RCM vs +MAM vs +RCM+MAM.

    python benchmarks/ablation.py [--work-dir work_dirs/ablation]
        [--data-seeds 0 1] [--train-seeds 0 1 2] [--stage2 [SEED ...]]
        [--jobs 2] [--cfg-options KEY=VALUE ...] [--quick]

For each data seed (a synthetic set), one plain-CAM warm-up run
(``configs/synthetic/cam_r18_synthetic.py``, seed 0) is trained; every
variant then continues from that checkpoint once per training seed for the
same number of iterations, so that all variants get identical schedules and
compute (the ``cam`` variant is the plain CAM trained for the same total
iterations). The training seed drives the continued stage (data order,
augmentation); sharing the warm-up saves the 1,500-iteration warm-up per
run (``--stage2`` takes about 3 hours on 2 CPU cores, docs/design_choices.md).
Each variant is scored with the project's tools:

- seed mIoU: the background threshold is the best one on the held-out
  ``val`` split, then applied to ``train`` (the scored split);
- pseudo-mask mIoU after dense CRF on ``train`` at that threshold;
- with ``--stage2``: the stage-2 DeepLabV3 mIoU on ``val`` (pseudo masks of
  ``train_aug`` at that threshold, with CRF), for every training seed or,
  as it adds about 9 minutes a run (two runs at a time on 2 CPU cores:
  59 minutes for ``--stage2 0 1`` with the pseudo masks already made), for
  the training seeds listed after it (its mean and std are then over fewer
  runs: the tables give n per column);
- train s/iter of the variant's stage (MMEngine's logged iteration time).

The data seeds run in ``--jobs`` parallel processes, each tool with its
share of the CPU threads and its output in WORK_DIR/data<seed>.log (one
line per scored run is printed). Writes WORK_DIR/ablation.{json,md} (every
run and configuration, then mean and std per variant) and
WORK_DIR/ablation.png (seed mIoU, error bars). Runs and their scores are
kept: a re-run resumes. ``--quick`` is the CI size: tiny data, a few
iterations, single-scale inference.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import Dict, List, Optional, Sequence

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from projects.rcm_mam.utils.cli import run  # noqa: E402
from projects.rcm_mam.utils.file_io import atomic_write, dump_json  # noqa
from tools.pipeline import (StageRunner, data_options,  # noqa: E402
                            without_pseudo_label_hook)

SYNTHETIC = 'configs/synthetic'
VARIANTS = ('cam', 'rcm', 'mam', 'rcm_mam')
# the configs of the variants (and of the designs of explore_design.py)
VARIANT_CONFIGS = {
    **{v: f'{SYNTHETIC}/{v}_r18_synthetic.py' for v in VARIANTS},
    **{f'rcm_mam_{v}': f'{SYNTHETIC}/rcm_mam_r18_synthetic_{v}.py'
       for v in ('authors', 'authors_tuned')}}
CAM_WARMUP = VARIANT_CONFIGS['cam']
SCORES = ('seed_mIoU', 'crf_mIoU', 'stage2_mIoU', 's_per_iter')
PAIRED = SCORES[:3]  # the scores paired with the cam run
RESUME_EVERY = 500
# how the scores are made, recorded in ablation.json
SETTINGS = dict(std='sample std (ddof=1)',
                crf_threshold="the threshold chosen on val after CRF")
# ... and how they were made before (the files without 'settings')
BEFORE_SETTINGS = dict(std='population std (ddof=0)',
                       crf_threshold="val's threshold without CRF")
QUICK = dict(
    data=['--num-train', '8', '--num-val', '6', '--num-aug', '4'],
    options=['model.test_cfg.scales=[1.0]', 'model.test_cfg.flip=False',
             'train_dataloader.num_workers=0',
             'train_dataloader.persistent_workers=False',
             'default_hooks.logger.interval=1'])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default='work_dirs/ablation')
    parser.add_argument('--data-seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--train-seeds', type=int, nargs='+',
                        default=[0, 1, 2])
    parser.add_argument('--variants', nargs='+', default=list(VARIANTS),
                        choices=VARIANT_CONFIGS)
    parser.add_argument('--warmup-iters', type=int, default=1500,
                        help='plain CAM iterations before the variants')
    parser.add_argument('--iters', type=int, default=150,
                        help='iterations of each variant after warm-up')
    parser.add_argument('--stage2', type=int, nargs='*', metavar='SEED',
                        help='also train and test DeepLabV3 per variant, '
                        'for these training seeds (none listed: all)')
    parser.add_argument('--jobs', type=int, default=2,
                        help='data seeds trained and scored in parallel')
    add_stage1_options(parser)
    parser.add_argument('--quick', action='store_true', help='CI size')
    return parser.parse_args()


def add_stage1_options(parser: argparse.ArgumentParser) -> None:
    """``--warmup-config`` and ``--cfg-options`` for every stage-1 run
    (warm-up and variants)."""
    parser.add_argument(
        '--warmup-config', default=CAM_WARMUP,
        help='the stage every variant but cam continues (default: the '
        'plain CAM; the authors\' recipe continues its RCM stage, '
        f'{SYNTHETIC}/rcm_r18_synthetic_authors.py); cam continues a '
        'plain-CAM stage of the same length')
    parser.add_argument(
        '--cfg-options', nargs='+', default=[],
        help='extra KEY=VALUE options of every stage-1 run, warm-up '
        'included, e.g. model.main_net.backbone.norm_eval=False')


def schedule(iters: int) -> List[str]:
    """``iters`` iterations, one checkpoint, no validation during training
    (tools/test.py scores the checkpoint)."""
    return [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
            f'train_cfg.val_begin={iters + 1}',
            f'param_scheduler.0.end={iters}',
            f'default_hooks.checkpoint.interval={iters}']


def resumable(iters: int) -> List[str]:
    """A checkpoint every ``RESUME_EVERY`` iterations for a continuation
    longer than that, so a killed run resumes from the last one (the
    recorded runs, which are shorter, keep their options)."""
    if iters <= RESUME_EVERY:
        return []
    return [f'default_hooks.checkpoint.interval={RESUME_EVERY}']


class Ablation:
    """The runs of one data seed and their scores, made by the project's
    tools (:class:`StageRunner`) in WORK_DIR/data<seed>.

    Args:
        work_dir (str): The ablation's work dir.
        data_seed (int): Seed of the synthetic set.
        warmup_iters (int): Iterations of the plain-CAM warm-up.
        iters (int): Iterations of each run continuing it.
        cfg_options (list[str]): ``--cfg-options`` of every stage-1 run.
        warmup_config (str): The warm-up of every variant but ``cam``
            (whose warm-up is the plain CAM); its runs go in a subfolder
            named after it unless it is the plain CAM.
        quick (bool): The CI size (tiny data, single-scale inference).
        log (str, optional): File the tools' output is appended to.
        env (dict, optional): Added to the tools' environment.
    """

    def __init__(self,
                 work_dir: str,
                 data_seed: int,
                 warmup_iters: int,
                 iters: int,
                 cfg_options: Sequence[str] = (),
                 warmup_config: str = CAM_WARMUP,
                 quick: bool = False,
                 log: Optional[str] = None,
                 env: Optional[Dict[str, str]] = None) -> None:
        self.stages = StageRunner(work_dir, log=log, env=env)
        self.warmup_config = warmup_config
        self.warm: Dict[str, str] = {}  # warm-up config: its checkpoint
        self.data_seed = data_seed
        self.base = osp.join(self.stages.work_dir, f'data{data_seed}')
        self.warmup_iters = warmup_iters
        self.iters = iters
        self.extra = (QUICK['options'] if quick else []) + list(cfg_options)
        self.quick = quick
        self.root = ''  # the data set's VOC2012 folder, once made

    def options(self) -> List[str]:
        """``--cfg-options`` of every stage-1 tool run: the data set's and
        the shared ones."""
        return data_options(self.root) + self.extra

    def warm_up(self, variant: str) -> str:
        """The data set and the warm-up run ``variant`` continues (each
        made once); its checkpoint."""
        if not self.root:
            self.root = self.stages.make_synthetic_voc(
                self.base, self.data_seed,
                QUICK['data'] if self.quick else ())
        config = self._warmup_config(variant)
        if config not in self.warm:
            self.warm[config] = self.stages.train(
                config, osp.join(self.base, self._warmup_name(config)),
                self.options() + ['randomness.seed=0'] +
                schedule(self.warmup_iters))
        return self.warm[config]

    def _warmup_config(self, variant: str) -> str:
        return CAM_WARMUP if variant == 'cam' else self.warmup_config

    @staticmethod
    def _warmup_name(config: str) -> str:
        """'warmup' for the plain CAM, else 'warmup_<config name>'."""
        return 'warmup' if config == CAM_WARMUP else \
            'warmup_' + osp.splitext(osp.basename(config))[0]

    def continue_from(self, name: str, variant: str,
                      options: List[str]) -> tuple:
        """Train ``variant`` (plus options) from its warm-up checkpoint.

        Returns:
            tuple: The derived config, its final checkpoint, its work dir.
        """
        warm = self.warm_up(variant)
        config = self._warmup_config(variant)
        base = self.base if config == CAM_WARMUP else osp.join(
            self.base, self._warmup_name(config)[len('warmup_'):])
        work_dir = osp.join(base, name)
        # no pseudo masks after training: the scores make them
        config = without_pseudo_label_hook(VARIANT_CONFIGS[variant],
                                           f'{work_dir}.py')
        checkpoint = self.stages.train(
            config, work_dir, self.options() + options +
            schedule(self.iters) + resumable(self.iters) +
            [f'load_from={warm}'])
        return config, checkpoint, work_dir

    def score(self, config: str, checkpoint: str, work_dir: str,
              stage2: bool) -> Dict:
        """Seed mIoU on train at val's best threshold, CRF mIoU on train at
        val's best threshold after CRF; stage 2 (on the CRF masks at that
        threshold) optionally."""
        options = self.options()
        val = self.stages.test_val(config, checkpoint, work_dir, options,
                                   crf=True)
        threshold = val['cam/oracle_threshold']
        crf_threshold = val['cam/crf_oracle_threshold']
        seed = self.stages.test_train(
            config, checkpoint, osp.join(work_dir, 'train'),
            options + at_threshold(threshold), crf=False)
        crf = self.stages.test_train(
            config, checkpoint, osp.join(work_dir, 'train_crf'),
            options + at_threshold(crf_threshold))
        scores = dict(threshold=threshold, crf_threshold=crf_threshold,
                      seed_mIoU=seed['cam/mIoU'], crf_mIoU=crf['cam/crf_mIoU'])
        if stage2:
            scores['stage2_mIoU'] = self.stage2(
                config, checkpoint, work_dir,
                options + at_threshold(crf_threshold))
        return scores

    def stage2(self, config: str, checkpoint: str, work_dir: str,
               options: List[str]) -> float:
        """DeepLabV3 on the variant's pseudo masks (CRF at the threshold in
        ``options``); mIoU on val."""
        self.stages.pseudo_labels(config, checkpoint, work_dir, options,
                                  crf=True)
        stage2_dir = osp.join(work_dir, 'stage2')
        config2 = f'{SYNTHETIC}/deeplabv3_r18_synthetic_pseudo.py'
        options2 = data_options(self.root) + [
            'train_dataloader.dataset.data_prefix.seg_map_path=' +
            osp.join(work_dir, 'pseudo_labels')
        ] + (schedule(4) if self.quick else [])
        checkpoint2 = self.stages.train(config2, stage2_dir, options2)
        return self.stages.test(config2, checkpoint2,
                                osp.join(stage2_dir, 'test'),
                                options2)['mIoU']

    def run(self, variants: Sequence[str], train_seeds: Sequence[int],
            stage2_seeds: Optional[Sequence[int]]) -> List[Dict]:
        """Warm-up, then every variant and training seed from it; the
        runs of ``stage2_seeds`` (all if empty, none if None) with a
        stage-2 score."""
        rows = []
        for train_seed in train_seeds:
            for variant in variants:
                config, checkpoint, work_dir = self.continue_from(
                    f'{variant}_seed{train_seed}', variant,
                    [f'randomness.seed={train_seed}'])
                stage2 = stage2_seeds is not None and (
                    not stage2_seeds or train_seed in stage2_seeds)
                rows.append(dict(
                    variant=variant, data_seed=self.data_seed,
                    train_seed=train_seed, config=config,
                    warmup_iters=self.warmup_iters, iters=self.iters,
                    s_per_iter=iteration_time(work_dir),
                    **self.score(config, checkpoint, work_dir, stage2)))
                print(f'data seed {self.data_seed}, {variant}, training '
                      f'seed {train_seed}: ' + ', '.join(
                          f'{k} {rows[-1][k]}' for k in SCORES
                          if k in rows[-1]), flush=True)
        return rows


def at_threshold(threshold: float) -> List[str]:
    """``--cfg-options`` of inference at a background threshold."""
    return [f'model.test_cfg.bg_threshold={threshold}']


def iteration_time(work_dir: str) -> float:
    """Mean logged training time per iteration of the run in work_dir."""
    times = [json.loads(line)['time']
             for log in glob.glob(f'{work_dir}/*/vis_data/scalars.json')
             for line in open(log) if '"loss"' in line]
    return round(float(np.mean(times[1:] or times)), 4)


def ablate(args: argparse.Namespace, data_seed: int) -> List[Dict]:
    """The rows of one data seed; when data seeds run in parallel, its
    tools get 1/jobs of the CPU threads and write their output to
    WORK_DIR/data<seed>.log."""
    parallel = dict(
        log=osp.join(osp.abspath(args.work_dir), f'data{data_seed}.log'),
        env=dict(OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 1) //
                                         args.jobs)))) if args.jobs > 1 \
        else {}
    ablation = Ablation(args.work_dir, data_seed, args.warmup_iters,
                        args.iters, args.cfg_options, args.warmup_config,
                        args.quick, **parallel)
    return ablation.run(args.variants, args.train_seeds, args.stage2)


def summarise(rows: List[Dict], work_dir: str) -> None:
    """Mean and std per variant: JSON, Markdown and the bar plot."""
    metrics = [k for k in SCORES if any(k in r for r in rows)]
    table = {}
    for variant in dict.fromkeys(r['variant'] for r in rows):
        values = {k: [r[k] for r in rows if r['variant'] == variant
                      and k in r] for k in metrics}
        table[variant] = {k: mean_std(v) for k, v in values.items()}
    differences = paired(rows)
    dump_json(dict(runs=rows, summary=table, paired_with_cam=differences,
                   settings=SETTINGS), osp.join(work_dir, 'ablation.json'))
    text = summary_markdown(table, differences, SETTINGS)
    print('\n' + text)
    atomic_write(osp.join(work_dir, 'ablation.md'),
                 lambda tmp: open(tmp, 'w').write(text))
    plot(table, osp.join(work_dir, 'ablation.png'))


def summary_markdown(table: Dict, differences: Dict,
                     settings: Dict = BEFORE_SETTINGS) -> str:
    """Markdown of the mean and std per variant and of :func:`paired`,
    with how the scores were made (``settings``: :data:`SETTINGS`, or
    :data:`BEFORE_SETTINGS` for the files written before them)."""
    metrics = list(next(iter(table.values())))
    lines = ['| variant | ' + ' | '.join(metrics) + ' |',
             '|---' * (len(metrics) + 1) + '|']
    for variant, stats in table.items():
        lines.append(f'| {variant} | ' + ' | '.join(
            f'{stats[k]["mean"]:.2f} ± {stats[k]["std"]:.2f}'
            for k in metrics) + ' |')
    counts = {k: v['n'] for k, v in next(iter(table.values())).items()}
    text = '\n'.join(lines) + f'\n\n(mean ± {settings["std"]} over n ' \
        'runs of data seeds x training seeds; n: ' + ', '.join(
            f'{k} {n}' for k, n in counts.items()) + \
        f'; CRF masks at {settings["crf_threshold"]})\n'
    if differences:
        text += '\n' + paired_table(differences, table, settings)
    return text


def mean_std(values: List[float]) -> Dict:
    """Mean and sample standard deviation (ddof=1; 0 for one value), to 2
    decimals, and the number of ``values``."""
    std = np.std(values, ddof=1) if len(values) > 1 else 0.0
    return dict(mean=round(float(np.mean(values)), 2),
                std=round(float(std), 2), n=len(values))


def paired(rows: List[Dict]) -> Dict:
    """Seed, CRF and (where both runs have it) stage-2 mIoU of each variant
    minus those of the ``cam`` run with the same data and training seed:
    mean, std, and mean per data seed (empty without ``cam`` runs)."""
    cam = {(r['data_seed'], r['train_seed']): r for r in rows
           if r['variant'] == 'cam'}
    pairs = [(r, cam.get((r['data_seed'], r['train_seed']))) for r in rows
             if r['variant'] != 'cam']
    pairs = [(row, base) for row, base in pairs if base is not None]
    result = {}
    for variant in dict.fromkeys(r['variant'] for r, _ in pairs):
        for key in PAIRED:
            diffs = {}  # data seed: differences
            for row, base in pairs:
                if row['variant'] == variant and key in row and key in base:
                    diffs.setdefault(row['data_seed'], []).append(
                        row[key] - base[key])
            if diffs:
                result.setdefault(variant, {})[key] = dict(
                    **mean_std(sum(diffs.values(), [])),
                    per_data_seed={seed: mean_std(d)['mean']
                                   for seed, d in diffs.items()})
    return result


def paired_table(differences: Dict, table: Dict, settings: Dict) -> str:
    """Markdown of :func:`paired`, with each variant's seed mIoU as a
    multiple of the plain CAM's."""
    keys = [k for k in PAIRED if k in next(iter(differences.values()))]
    lines = ['| variant | seed mIoU x cam | ' + ' | '.join(
        f'{k} - cam' for k in keys) + ' | seed_mIoU - cam per data seed |',
        '|---' * (len(keys) + 3) + '|']
    cam = table['cam']['seed_mIoU']['mean']
    for variant, diffs in differences.items():
        lines.append(
            f"| {variant} | "
            f"{table[variant]['seed_mIoU']['mean'] / cam:.3f} | " + ''.join(
                f"{diffs[k]['mean']:+.2f} ± {diffs[k]['std']:.2f} "
                f"(n {diffs[k]['n']}) | " for k in keys) + ', '.join(
                f'{s}: {d:+.2f}'
                for s, d in diffs['seed_mIoU']['per_data_seed'].items())
            + ' |')
    return '\n'.join(lines) + '\n\n(paired with the cam run of the same ' \
        f'data and training seed; mean ± {settings["std"]} over n runs)\n'


def plot(table: Dict, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    names = list(table)
    ax.bar(names, [table[n]['seed_mIoU']['mean'] for n in names],
           yerr=[table[n]['seed_mIoU']['std'] for n in names], capsize=4)
    ax.set_ylabel('seed mIoU on train (%)')
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format='png', dpi=90))


def main() -> None:
    args = parse_args()
    if args.quick:
        args.warmup_iters, args.iters = 4, 4
    args.jobs = max(1, min(args.jobs, len(args.data_seeds)))
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = [row for rows in pool.map(partial(ablate, args),
                                         args.data_seeds) for row in rows]
    summarise(rows, osp.abspath(args.work_dir))


if __name__ == '__main__':
    run(main)
