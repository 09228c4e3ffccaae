"""From image labels to a segmentation model in one command.

    python tools/run_pipeline.py [--data-root DIR] [--work-dir DIR]
        [--stage1-configs CAM_CFG RCM_MAM_CFG] [--stage2-config CFG]
        [--gpus N] [--crf]

Stages, each a call of the project's tools and each skipped when its
output exists (a killed pipeline re-run resumes; training resumes from its
last checkpoint). Each output folder records the tool's arguments and a
hash of its config in ``<tool>_command.json``; a re-run with another
config or other options stops with an error instead of reusing outputs
that no longer match:

1. data: the synthetic VOC set (tools/make_synthetic_voc.py) unless
   ``--data-root`` is given;
2. stage 1: train each ``--stage1-configs`` config in turn, each starting
   from the previous one's checkpoint (the paper's staging: plain CAM, then
   RCM + MAM);
3. CAM mIoU: tools/test.py of the last stage-1 checkpoint on ``val``
   (background threshold sweep; after dense CRF too with ``--crf``), then
   on ``train`` at ``val``'s best background threshold (the best after CRF
   with ``--crf``), which the pseudo masks use too;
4. pseudo masks: tools/make_pseudo_labels.py (train_aug, into
   WORK_DIR/pseudo_masks; dense CRF as the stage-1 config's
   PseudoLabelHook says, or with ``--crf``) and their mIoU;
5. stage 2: DeepLabV3 on the pseudo masks (tools/train.py);
6. test: tools/test.py of the stage-2 model on val.

The summary table (stage, mIoU, time) is printed and written to
WORK_DIR/summary.{json,md} (the JSON also holds the chosen threshold), with
WORK_DIR/losses.png (training losses) and the CAM overlays in
WORK_DIR/stage1_*/cam_overlays.
"""
import argparse
import glob
import hashlib
import json
import os
import os.path as osp
import subprocess
import sys
import threading
import time
from contextlib import nullcontext
from functools import lru_cache
from typing import Any, Callable, Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from mmengine.config import Config  # noqa: E402

from projects.rcm_mam.utils.cli import run  # noqa: E402
from projects.rcm_mam.utils.errors import InputError  # noqa: E402
from projects.rcm_mam.utils.file_io import atomic_write, dump_json  # noqa

SYNTHETIC = 'configs/synthetic'
# background thresholds scored after CRF on val (CRF is slow: a coarser
# sweep than the test evaluator's 0.025 to 0.5)
CRF_SWEEP = '[0.05,0.1,0.15,0.2,0.25,0.3]'
CONFIG_LOCK = threading.Lock()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data-root', help='VOC2012 folder (default: make '
                        'the synthetic set in WORK_DIR/data)')
    parser.add_argument('--work-dir', default='work_dirs/pipeline')
    parser.add_argument(
        '--stage1-configs', nargs='+',
        default=[f'{SYNTHETIC}/cam_r18_synthetic.py',
                 f'{SYNTHETIC}/rcm_mam_r18_synthetic.py'],
        help='CAM training stages, each initialised from the previous')
    parser.add_argument(
        '--stage2-config',
        default=f'{SYNTHETIC}/deeplabv3_r18_synthetic_pseudo.py')
    parser.add_argument('--gpus', type=int, default=1,
                        help='processes per training (dist_train.sh if >1)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the synthetic data')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='extra KEY=VALUE options for every stage-1 '
                        'tool run, e.g. model.test_cfg.flip=False')
    parser.add_argument('--stage2-cfg-options', nargs='+', default=[],
                        help='extra KEY=VALUE options for stage 2')
    parser.add_argument(
        '--crf', action='store_true',
        help='pseudo masks refined by dense CRF, their background threshold '
        "chosen on val after CRF (default: as the stage-1 config's "
        'PseudoLabelHook, the threshold chosen on val without CRF)')
    return parser.parse_args()


class Pipeline:
    """Runs the stages as subprocesses of the project's tools."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work_dir = osp.abspath(args.work_dir)
        self.rows: List[Dict] = []
        self.threshold = None  # the background threshold val chose
        self.root = ''
        # where the tools' output goes (None: this terminal) and what they
        # get added to their environment
        self.log: Optional[str] = None
        self.env: Dict[str, str] = {}

    def tool(self, script: str, positional: List[str], options: List[str],
             gpus: int = 1) -> None:
        """Run tools/SCRIPT.py, through tools/dist_SCRIPT.sh for gpus > 1."""
        if gpus > 1:
            cmd = ['bash', f'tools/dist_{script}.sh', *positional, str(gpus)]
        else:
            cmd = [sys.executable, f'tools/{script}.py', *positional]
        cmd += options
        print(f'\n$ {" ".join(cmd)}', flush=True)
        env = dict(os.environ, PYTHON=sys.executable, **self.env)
        where = f'the end of {self.log}' if self.log else 'its output above'
        with open(self.log, 'a') if self.log else nullcontext() as log:
            failed = subprocess.run(cmd, cwd=ROOT, env=env, stdout=log,
                                    stderr=log).returncode
        if failed:
            raise InputError(f'stage failed: {" ".join(cmd)} (see {where}; '
                             're-run to resume)')

    def claim(self, work_dir: str, script: str, arguments: List[str],
              started: bool) -> None:
        """Record what tools/SCRIPT.py makes in ``work_dir`` from, or check
        that what it ``started`` there came from the same config (its
        content, bases included) and ``arguments`` (config path first).

        A resumed or reused output of another config, checkpoint or option
        would mix runs or report stale scores. Checkpoints count by content:
        a retrained ``iter_N.pth`` keeps its path.
        """
        record = osp.join(work_dir, f'{script}_command.json')
        command = dict(arguments=arguments, gpus=self.args.gpus,
                       config_sha256=config_sha256(arguments[0]),
                       checkpoints_sha256=checkpoint_digests(arguments))
        if osp.isfile(record):
            with open(record) as f:
                if json.load(f) == command:
                    return
            made = (f'with another config or other arguments ({record}; '
                    'or by an older version of this project, which '
                    'recorded less)')
        elif started:
            made = 'by a run that did not record its config and arguments'
        else:
            dump_json(command, record)
            return
        raise InputError(
            f'the tools/{script}.py output in {work_dir} was made {made}. '
            'Fix: remove that folder or choose another --work-dir.')

    def stage(self, name: str, func: Callable[[], Any],
              miou: Optional[Callable[[Any], float]] = None) -> Any:
        """Run and time a stage; record its mIoU (``miou(result)``)."""
        start = time.perf_counter()
        result = func()
        self.rows.append(dict(stage=name,
                              mIoU=miou(result) if miou else None,
                              seconds=round(time.perf_counter() - start)))
        return result

    def data_options(self) -> List[str]:
        """--cfg-options pointing every dataloader at the data root."""
        return [f'{x}_dataloader.dataset.data_root={self.root}'
                for x in ('train', 'val', 'test')]

    def make_data(self) -> None:
        if self.args.data_root:
            self.root = osp.abspath(self.args.data_root)
            return
        out = osp.join(self.work_dir, 'data')
        self.tool('make_synthetic_voc', [],
                  ['--out', out, '--seed', str(self.args.seed)])
        self.root = osp.join(out, 'VOCdevkit', 'VOC2012')

    def train(self, config: str, work_dir: str, options: List[str]) -> str:
        """Train unless done (resuming a killed run); the checkpoint path."""
        done = osp.join(work_dir, 'done')
        started = glob.glob(f'{work_dir}/iter_*.pth')
        self.claim(work_dir, 'train', [config, *options], bool(started))
        if not osp.isfile(done):
            resume = ['--resume'] if started else []
            self.tool('train', [config],
                      ['--work-dir', work_dir, *resume, '--cfg-options',
                       *options], gpus=self.args.gpus)
            with open(osp.join(work_dir, 'last_checkpoint')) as f:
                last = f.read().strip()
            atomic_write(done, lambda tmp: open(tmp, 'w').write(last))
        with open(done) as f:
            return f.read().strip()

    def test(self, config: str, checkpoint: str, work_dir: str,
             options: List[str]) -> dict:
        """tools/test.py unless done; the metrics it logged."""
        out = osp.join(work_dir, 'test_metrics.json')
        self.claim(work_dir, 'test', [config, checkpoint, *options],
                   osp.isfile(out))
        if not osp.isfile(out):
            self.tool('test', [config, checkpoint],
                      ['--work-dir', work_dir, '--cfg-options', *options])
            with open(sorted(glob.glob(f'{work_dir}/*/*.json'))[-1]) as f:
                dump_json(json.load(f), out)
        with open(out) as f:
            return json.load(f)

    def test_train(self, config: str, checkpoint: str, work_dir: str,
                   options: List[str]) -> dict:
        """CAM metrics on the config's test split (``train``) at the
        background threshold in ``options``, CRF at that threshold only,
        logged under ``work_dir``."""
        return self.test(config, checkpoint, work_dir,
                         options + ['test_evaluator.0.crf_thresholds=None'])

    def test_val(self, config: str, checkpoint: str, work_dir: str,
                 options: List[str], crf: bool = False) -> dict:
        """CAM metrics on the held-out ``val`` split, logged under
        WORK_DIR/val: the threshold sweep and, with ``crf``, the coarser
        ``CRF_SWEEP`` after dense CRF (as the config's test evaluator)."""
        evaluator = f'test_evaluator.0.crf_thresholds={CRF_SWEEP}' if crf \
            else 'test_evaluator.0.crf=None'
        return self.test(config, checkpoint, osp.join(work_dir, 'val'),
                         options + ['test_dataloader.dataset.ann_file='
                                    'ImageSets/Segmentation/val.txt',
                                    evaluator])

    def pseudo_labels(self, config: str, checkpoint: str, work_dir: str,
                      options: List[str], crf: bool) -> float:
        """Pseudo masks of train_aug unless done (with dense CRF, or as the
        config says); their mIoU on train."""
        summary = osp.join(work_dir, 'pseudo_labels.json')
        flag = ['--crf'] if crf else []
        self.claim(work_dir, 'make_pseudo_labels',
                   [config, checkpoint, *flag, *options],
                   osp.isdir(osp.join(work_dir, 'pseudo_labels')))
        if not osp.isfile(summary):
            self.tool('make_pseudo_labels', [config, checkpoint],
                      ['--work-dir', work_dir, *flag, '--cfg-options',
                       *options], gpus=self.args.gpus)
        with open(summary) as f:
            return json.load(f)['mIoU']

    def add_crf_row(self, stage: str, metrics: dict, key: str) -> None:
        """A table row for a CRF figure of a test, where it has one."""
        if key in metrics:
            self.rows.append(dict(stage=stage, mIoU=metrics[key], seconds=0))

    def run(self) -> None:
        os.makedirs(self.work_dir, exist_ok=True)
        self.stage('data', self.make_data)
        options = self.data_options() + list(self.args.cfg_options)
        config, checkpoint, train_dirs = self.train_stage1(options)
        masks = self.pseudo_masks(config, checkpoint, train_dirs[-1],
                                  options)
        train_dirs.append(self.train_stage2(masks))
        self.report(train_dirs)

    def train_stage1(self, options: List[str]) -> tuple:
        """Train each stage-1 config in turn, each from the previous one's
        checkpoint (the paper's staging).

        Returns:
            tuple: The last config, its checkpoint, every work dir.
        """
        checkpoint, train_dirs = None, []
        for i, config in enumerate(self.args.stage1_configs):
            name = osp.splitext(osp.basename(config))[0]
            train_dirs.append(osp.join(self.work_dir, f'stage1_{i}_{name}'))
            start = [f'load_from={checkpoint}'] if checkpoint else []
            checkpoint = self.stage(
                f'train {name}',
                lambda: self.train(config, train_dirs[-1], options + start))
        return config, checkpoint, train_dirs

    def pseudo_masks(self, config: str, checkpoint: str, cam_dir: str,
                     options: List[str]) -> str:
        """Seed mIoU on val, where the background threshold is chosen (after
        CRF with ``--crf``), then on train at that threshold, and the pseudo
        masks of train_aug; the masks' folder."""
        crf = self.args.crf
        val = self.stage(
            'CAM (seed) mIoU on val, best threshold',
            lambda: self.test_val(config, checkpoint, cam_dir, options, crf),
            lambda metrics: metrics['cam/oracle_mIoU'])
        self.add_crf_row('CAM + CRF mIoU on val, best threshold', val,
                         'cam/crf_oracle_mIoU')
        threshold = val['cam/crf_oracle_threshold' if crf else
                        'cam/oracle_threshold']
        self.threshold = threshold
        options = options + [f'model.test_cfg.bg_threshold={threshold}']
        cam = self.stage(
            f'CAM (seed) mIoU on train at threshold {threshold:g}',
            lambda: self.test_train(config, checkpoint,
                                    osp.join(cam_dir, 'cam_test'), options),
            lambda metrics: metrics['cam/mIoU'])
        self.add_crf_row('CAM + CRF mIoU on train', cam, 'cam/crf_mIoU')
        # not the masks of the training's PseudoLabelHook: those are at the
        # config's threshold
        masks_dir = osp.join(self.work_dir, 'pseudo_masks')
        self.stage('pseudo masks mIoU on train' + (' (CRF)' if crf else ''),
                   lambda: self.pseudo_labels(config, checkpoint, masks_dir,
                                              options, crf), float)
        return osp.join(masks_dir, 'pseudo_labels')

    def train_stage2(self, masks: str) -> str:
        """DeepLabV3 on the pseudo masks, tested on val; its work dir."""
        config = self.args.stage2_config
        work_dir = osp.join(self.work_dir, 'stage2')
        options = self.data_options() + [
            f'train_dataloader.dataset.data_prefix.seg_map_path={masks}'
        ] + list(self.args.stage2_cfg_options)
        checkpoint = self.stage(
            'train stage 2 (DeepLabV3)',
            lambda: self.train(config, work_dir, options))
        self.stage(
            'stage 2 mIoU on val',
            lambda: self.test(config, checkpoint,
                              osp.join(work_dir, 'test'), options),
            lambda metrics: metrics['mIoU'])
        return work_dir

    def report(self, train_dirs: List[str]) -> None:
        """Print and save the summary table and the loss plot."""
        lines = ['| stage | mIoU | time (s) |', '|---|---|---|']
        for r in self.rows:
            value = '' if r['mIoU'] is None else f'{r["mIoU"]:.2f}'
            lines.append(f'| {r["stage"]} | {value} | {r["seconds"]} |')
        total = sum(r['seconds'] for r in self.rows)
        lines.append(f'| total | | {total} |')
        table = '\n'.join(lines)
        print('\n' + table)
        dump_json(dict(rows=self.rows, total_seconds=total,
                       bg_threshold=self.threshold, crf=self.args.crf),
                  osp.join(self.work_dir, 'summary.json'))
        atomic_write(osp.join(self.work_dir, 'summary.md'),
                     lambda tmp: open(tmp, 'w').write(table + '\n'))
        plot_losses(train_dirs, osp.join(self.work_dir, 'losses.png'))
        print(f'\nSummary, loss plot and CAM overlays in {self.work_dir}')


@lru_cache(maxsize=None)
def config_sha256(path: str) -> str:
    """SHA-256 of a config's content (bases merged), ``path`` relative to
    the repository root or absolute; loaded once per path and process."""
    # the ablation runs pipelines in threads, and loading a config (custom
    # imports, pkg_resources) is not thread-safe
    with CONFIG_LOCK:
        config = Config.fromfile(osp.join(ROOT, path)).to_dict()
    return hashlib.sha256(json.dumps(config, sort_keys=True,
                                     default=str).encode()).hexdigest()


def checkpoint_digests(arguments: List[str]) -> Dict[str, str]:
    """SHA-256 of the content of each checkpoint an argument names (as
    itself or as ``KEY=PATH``)."""
    paths = [a.split('=', 1)[-1] for a in arguments]
    return {p: file_sha256(p, stamp(p)) for p in paths
            if p.endswith('.pth') and osp.isfile(p)}


def stamp(path: str) -> tuple:
    """Size, modification time and inode: a rewritten file changes them."""
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


@lru_cache(maxsize=None)
def file_sha256(path: str, stamp: tuple) -> str:
    """SHA-256 of a file, once per path and :func:`stamp`."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def plot_losses(train_dirs: List[str], path: str) -> None:
    """One panel per training run: its logged losses against iteration."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(train_dirs),
                             figsize=(4.5 * len(train_dirs), 3.5),
                             squeeze=False)
    for ax, work_dir in zip(axes[0], train_dirs):
        logs = sorted(glob.glob(f'{work_dir}/*/vis_data/scalars.json'))
        rows = [json.loads(line) for log in logs for line in open(log)
                if '"loss' in line]
        # loss_cls, loss_rcm, ...; mmseg's decode.loss_ce, aux.loss_ce
        keys = sorted({k for r in rows for k in r if 'loss_' in k})
        for key in keys:
            ax.plot([r['iter'] for r in rows if key in r],
                    [r[key] for r in rows if key in r], label=key)
        ax.set_title(osp.basename(work_dir), fontsize=9)
        ax.set_xlabel('iteration')
        ax.set_yscale('log')
        ax.legend(fontsize=7)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format='png', dpi=90))


if __name__ == '__main__':
    run(lambda: Pipeline(parse_args()).run())
