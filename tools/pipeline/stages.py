"""The stages of a pipeline: the project's tools run once each.

A stage is one call of a tool
(``tools/dataset_converters/make_synthetic_voc.py``, ``tools/train.py``,
``test.py``, ``make_pseudo_labels.py``) in a subprocess, whose output folder
a re-run reuses: a killed pipeline re-run resumes (a training from its last
checkpoint), and each folder's command record (``utils.command_record``)
stops a re-run with another config or other options instead of reusing
outputs that no longer match. Each stage is timed into a row (name, mIoU,
seconds) of the summary table.
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time
from contextlib import nullcontext
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from projects.rcm_mam.engine.pseudo_label_hook import LABEL_FOLDERS
from projects.rcm_mam.engine.random_walk_label_hook import OUT_DIR
from projects.rcm_mam.utils.command_record import claim_command
from projects.rcm_mam.utils.errors import InputError
from projects.rcm_mam.utils.file_io import atomic_write, dump_json
from projects.rcm_mam.utils.generation_record import read_record

# the repository, whose tools/ the stages run
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# background thresholds scored after CRF on val (CRF is slow: a coarser
# sweep than the test evaluator's 0.025 to 0.5)
CRF_SWEEP = '[0.05,0.1,0.15,0.2,0.25,0.3]'


def data_options(root: str) -> List[str]:
    """``--cfg-options`` pointing every dataloader at the data root."""
    return [f'{x}_dataloader.dataset.data_root={root}'
            for x in ('train', 'val', 'test')]


def cfg_options(options: Sequence[str]) -> List[str]:
    """A tool's ``--cfg-options`` arguments (none without options)."""
    return ['--cfg-options', *options] if options else []


def without_pseudo_label_hook(config: str, path: str) -> str:
    """Write a config inheriting ``config`` whose ``PseudoLabelHook`` does
    not run after training.

    The hook's settings stay, as the config's ``pseudo_label_hook``, for
    ``tools/make_pseudo_labels.py``: a pipeline makes its pseudo masks
    after choosing their threshold, once.

    Args:
        config (str): Config path, relative to the repository or absolute.
        path (str): Where to write the derived config.

    Returns:
        str: ``path``.
    """
    config = osp.join(ROOT, config)
    hooks = Config.fromfile(config).to_dict().get('custom_hooks', [])
    text = f'_base_ = {config!r}\ncustom_hooks = ' + repr(
        [h for h in hooks if h['type'] != 'PseudoLabelHook']) + '\n'
    for hook in hooks:
        if hook['type'] == 'PseudoLabelHook':
            text += f'pseudo_label_hook = {hook!r}\n'
    atomic_write(path, lambda tmp: open(tmp, 'w').write(text))
    return path


class StageRunner:
    """Runs the project's tools as the stages of a pipeline.

    Args:
        work_dir (str): Where the summary goes, made if missing (the
            stages' output folders are their callers' choice).
        gpus (int): Processes per training and pseudo-mask generation
            (``tools/dist_*.sh`` if more than 1); a training's total
            batch (its config's ``auto_scale_lr.base_batch_size``) is split
            over them.
        log (str, optional): File the tools' output is appended to; None:
            this terminal.
        env (dict, optional): Added to the tools' environment.
    """

    def __init__(self,
                 work_dir: str,
                 gpus: int = 1,
                 log: Optional[str] = None,
                 env: Optional[Dict[str, str]] = None) -> None:
        self.work_dir = osp.abspath(work_dir)
        os.makedirs(self.work_dir, exist_ok=True)
        self.gpus = gpus
        self.log = log
        self.env = env or {}
        self.rows: List[Dict] = []

    # --- running and recording ---------------------------------------------
    def tool(self, script: str, positional: List[str], options: List[str],
             dist: bool = False) -> None:
        """Run tools/SCRIPT.py (SCRIPT may name a subfolder:
        ``dataset_converters/make_synthetic_voc``); through
        tools/dist_SCRIPT.sh on ``gpus`` processes if ``dist`` and ``gpus``
        > 1."""
        if dist and self.gpus > 1:
            cmd = ['bash', f'tools/dist_{script}.sh', *positional,
                   str(self.gpus)]
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

    def stage(self, name: str, func: Callable[[], Any],
              miou: Optional[Callable[[Any], float]] = None) -> Any:
        """Run and time a stage; its row records ``miou(result)``."""
        start = time.perf_counter()
        result = func()
        self.rows.append(dict(stage=name,
                              mIoU=miou(result) if miou else None,
                              seconds=round(time.perf_counter() - start)))
        return result

    def add_row(self, name: str, miou: Optional[float]) -> None:
        """A row without a stage of its own (a CRF figure of a test), if
        there is a figure."""
        if miou is not None:
            self.rows.append(dict(stage=name, mIoU=miou, seconds=0))

    def summary(self, **extra) -> str:
        """Print the table of the rows and write it to WORK_DIR/summary.md
        and, with ``extra``, to WORK_DIR/summary.json."""
        lines = ['| stage | mIoU | time (s) |', '|---|---|---|']
        for r in self.rows:
            value = '' if r['mIoU'] is None else f'{r["mIoU"]:.2f}'
            lines.append(f'| {r["stage"]} | {value} | {r["seconds"]} |')
        total = sum(r['seconds'] for r in self.rows)
        lines.append(f'| total | | {total} |')
        table = '\n'.join(lines)
        print('\n' + table)
        dump_json(dict(rows=self.rows, total_seconds=total, **extra),
                  osp.join(self.work_dir, 'summary.json'))
        atomic_write(osp.join(self.work_dir, 'summary.md'),
                     lambda tmp: open(tmp, 'w').write(table + '\n'))
        return table

    # --- the tools ---------------------------------------------------------
    def make_synthetic_voc(self, out: str, seed: int,
                           options: Sequence[str] = ()) -> str:
        """The synthetic set of ``seed`` in ``out``; its VOC2012 folder."""
        self.tool('dataset_converters/make_synthetic_voc', [],
                  ['--out', out, '--seed', str(seed), *options])
        return osp.join(out, 'VOCdevkit', 'VOC2012')

    def train(self, config: str, work_dir: str, options: List[str]) -> str:
        """Train unless done (resuming a killed run); the checkpoint path."""
        config = osp.join(ROOT, config)
        done = osp.join(work_dir, 'done')
        started = glob.glob(f'{work_dir}/iter_*.pth')
        claim_command(work_dir, 'train', [config, *options], self.gpus,
                      bool(started))
        if not osp.isfile(done):
            resume = ['--resume'] if started else []
            self.tool('train', [config],
                      ['--work-dir', work_dir, *resume, *cfg_options(
                          options + self._per_gpu_batch(config, options))],
                      dist=True)
            with open(osp.join(work_dir, 'last_checkpoint')) as f:
                last = f.read().strip()
            atomic_write(done, lambda tmp: open(tmp, 'w').write(last))
        with open(done) as f:
            return f.read().strip()

    def _per_gpu_batch(self, config: str, options: List[str]) -> List[str]:
        """The option that splits the config's total batch
        (``auto_scale_lr.base_batch_size``, OpenMMLab's field) over ``gpus``
        processes; none where the config's per-GPU batch is that already,
        or where ``options`` set the per-GPU batch themselves."""
        key = 'train_dataloader.batch_size='
        if any(o.startswith(key) for o in options):
            return []
        cfg = Config.fromfile(config)
        per_gpu = cfg.train_dataloader.batch_size
        batch = cfg.get('auto_scale_lr', {}).get('base_batch_size', per_gpu)
        if batch % self.gpus:
            raise InputError(
                f'{config}: its total batch of {batch} does not divide over '
                f'--gpus {self.gpus}. Fix: use a number of GPUs that divides '
                f'it, or set {key}N (per GPU).')
        return [] if batch // self.gpus == per_gpu else \
            [f'{key}{batch // self.gpus}']

    def test(self, config: str, checkpoint: str, work_dir: str,
             options: List[str]) -> dict:
        """tools/test.py unless done; the metrics it logged."""
        config = osp.join(ROOT, config)
        out = osp.join(work_dir, 'test_metrics.json')
        claim_command(work_dir, 'test', [config, checkpoint, *options],
                      self.gpus, osp.isfile(out))
        if not osp.isfile(out):
            self.tool('test', [config, checkpoint],
                      ['--work-dir', work_dir, *cfg_options(options)])
            with open(sorted(glob.glob(f'{work_dir}/*/*.json'))[-1]) as f:
                dump_json(json.load(f), out)
        with open(out) as f:
            return json.load(f)

    def test_train(self, config: str, checkpoint: str, work_dir: str,
                   options: List[str], crf: bool = True) -> dict:
        """CAM metrics on the config's test split (``train``) at the
        background threshold in ``options``, with ``crf`` after dense CRF
        at that threshold only, logged under ``work_dir``."""
        evaluator = 'test_evaluator.0.crf_thresholds=None' if crf else \
            'test_evaluator.0.crf=None'
        return self.test(config, checkpoint, work_dir, options + [evaluator])

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
        """Pseudo masks of train_aug in WORK_DIR/pseudo_labels unless done
        (with dense CRF if ``crf``, else without, whatever the config's
        hook says); their mIoU on train."""
        config = osp.join(ROOT, config)
        summary = osp.join(work_dir, 'pseudo_labels.json')
        flag = ['--crf' if crf else '--no-crf']
        claim_command(work_dir, 'make_pseudo_labels',
                      [config, checkpoint, *flag, *options], self.gpus,
                      osp.isdir(osp.join(work_dir, 'pseudo_labels')))
        if not osp.isfile(summary):
            self.tool('make_pseudo_labels', [config, checkpoint],
                      ['--work-dir', work_dir, *flag,
                       *cfg_options(options)], dist=True)
        with open(summary) as f:
            return json.load(f)['mIoU']

    def confident_labels(self, config: str, checkpoint: str, work_dir: str,
                         options: List[str], form: str = 'irn') -> str:
        """A refinement's training labels and the CAMs of the config's
        pseudo-label split (``form`` 'irn': IRN's confident labels in
        WORK_DIR/ir_labels; 'psa': AffinityNet's in WORK_DIR/psa_labels)
        unless done; that folder."""
        config = osp.join(ROOT, config)
        folder = osp.join(work_dir, LABEL_FOLDERS[form])
        flag = ['--confident'] + ([] if form == 'irn' else [form])
        claim_command(work_dir, 'make_pseudo_labels',
                      [config, checkpoint, *flag, *options], self.gpus,
                      osp.isdir(folder))
        if not (read_record(folder) or {}).get('complete'):
            self.tool('make_pseudo_labels', [config, checkpoint],
                      ['--work-dir', work_dir, *flag, *cfg_options(options)],
                      dist=True)
        return folder

    def refine(self, config: str, work_dir: str, root: str,
               label_dir: str, options: List[str]) -> Tuple[str, dict]:
        """Train a refinement network (IRN's, AffinityNet) on
        ``label_dir``'s labels unless done; its hook writes the walk's
        masks of train_aug. The checkpoint and the masks' summary."""
        checkpoint = self.train(config, work_dir, [
            f'train_dataloader.dataset.data_root={root}',
            f'walk_dataset.data_root={root}',
            f'train_dataloader.dataset.data_prefix.seg_map_path={label_dir}',
            f'custom_hooks.0.cam_dir={label_dir}', *options])
        return checkpoint, walk_summary(config, work_dir)

    def walk_labels(self, config: str, checkpoint: str, work_dir: str,
                    options: List[str]) -> dict:
        """A refinement network's walk masks (its config's
        ``RandomWalkLabelHook`` with ``options``) in WORK_DIR unless done;
        their summary."""
        config = osp.join(ROOT, config)
        masks = osp.join(work_dir, walk_folder(config))
        claim_command(work_dir, 'make_pseudo_labels',
                      [config, checkpoint, *options], self.gpus,
                      osp.isdir(masks))
        if not osp.isfile(masks + '.json'):
            self.tool('make_pseudo_labels', [config, checkpoint],
                      ['--work-dir', work_dir, *cfg_options(options)],
                      dist=True)
        return walk_summary(config, work_dir)


def walk_folder(config: str) -> str:
    """The mask folder of a refinement config's walk hook (its
    ``out_dir``)."""
    hook = Config.fromfile(osp.join(ROOT, config)).custom_hooks[0]
    return hook.get('out_dir', OUT_DIR)


def walk_summary(config: str, work_dir: str) -> dict:
    """The summary JSON of the masks a refinement config's walk hook wrote
    in ``work_dir``."""
    with open(osp.join(work_dir, walk_folder(config) + '.json')) as f:
        return json.load(f)
