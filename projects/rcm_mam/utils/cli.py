"""What the command-line tools share: config loading, CPU launch, errors."""
import argparse
import difflib
import inspect
import os
import os.path as osp
import re
import sys
import tempfile
from typing import Callable, Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, DictAction
from mmengine.utils import import_modules_from_strings

from .errors import InputError


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file and merge the ``--cfg-options`` into it.

    ``Config.fromfile`` imports the file's ``custom_imports``; those set by
    ``--cfg-options`` are imported here (MMEngine would ignore them).
    """
    if not osp.isfile(path):
        raise InputError(f'{path}: config file not found. Fix: pass a path '
                         'like configs/synthetic/rcm_mam_r18_synthetic.py.')
    cfg = Config.fromfile(path)
    if cfg_options:
        try:
            cfg.merge_from_dict(cfg_options)
        except KeyError as e:
            raise InputError(f'{path}: --cfg-options do not fit the config: '
                             f'{e.args[0]}. Fix: check the option against '
                             'the config (python -c "from mmengine import '
                             'Config; print(Config.fromfile(CONFIG).pretty_'
                             'text)").')
        if any(key.split('.')[0] == 'custom_imports' for key in cfg_options):
            import_modules_from_strings(**cfg.custom_imports)
    return cfg


class PathDictAction(DictAction):
    """MMEngine's ``DictAction`` that keeps spaces inside single values.

    ``DictAction`` removes every space of a value (for ``KEY=[1, 2]``), so
    ``data_root=/data/my voc`` would silently become ``/data/myvoc``. A
    value that is not a list or tuple (no brackets, no comma) is kept as
    written here, so paths with spaces work; lists parse as before, and a
    list element with a space inside, which they would mangle, is refused.
    """

    @staticmethod
    def _parse_iterable(val: str):
        text = val.strip().strip('\'"')
        if ',' not in text and text[:1] not in '([':
            return text if ' ' in text else DictAction._parse_iterable(val)
        if re.search(r'[^\s,()\[\]]\s+[^\s,()\[\]]', text):
            raise InputError(
                f'--cfg-options: the list {text!r} has an element with a '
                "space inside, which MMEngine's option parser would remove. "
                'Fix: set it in a config file that inherits this one.')
        return DictAction._parse_iterable(val)


def doc_parser(doc: str) -> argparse.ArgumentParser:
    """A parser whose help is a script's docstring (first line, then rest)."""
    lines = doc.splitlines()
    return argparse.ArgumentParser(
        description=lines[0], epilog='\n'.join(lines[2:]),
        formatter_class=argparse.RawDescriptionHelpFormatter)


def add_runner_args(parser: argparse.ArgumentParser) -> None:
    """The options every tool shares: --cfg-options and the launcher."""
    parser.add_argument(
        '--cfg-options', nargs='+', action=PathDictAction,
        help='override settings of the config, KEY=VALUE, e.g. '
        'load_from=work_dirs/cam/iter_1000.pth to start from a previous '
        'stage')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def config_from_args(args: argparse.Namespace) -> Config:
    """The config of ``args.config`` with the shared options applied.

    work_dir: ``--work-dir`` > the config's > ./work_dirs/CONFIG_NAME.
    """
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


def check_checkpoint(path: Optional[str]) -> None:
    """A local checkpoint to load must exist (URLs are left to MMEngine)."""
    if path and '://' not in path and not osp.isfile(path):
        raise InputError(f'{path}: checkpoint not found. Fix: give the path '
                         'of a .pth file written by tools/train.py.')


def check_work_dir(work_dir: str) -> None:
    """The work dir must be creatable and writable before a long run."""
    try:
        os.makedirs(work_dir, exist_ok=True)
        tempfile.TemporaryFile(dir=work_dir).close()
    except OSError as e:
        raise InputError(f'{work_dir}: cannot write to the work dir '
                         f'({e.strerror}). Fix: pass --work-dir with a '
                         'writable folder.')


def check_checkpoint_fits(model, path: str) -> None:
    """Refuse a checkpoint that holds less than half of the model's weights.

    MMEngine loads non-strictly and only warns about missing weights, so a
    checkpoint of another model would silently give random predictions.
    """
    from mmengine.runner import CheckpointLoader
    state = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    state = state.get('state_dict', state)
    weights = dict(model.named_parameters())
    fitting = [k for k, v in weights.items()
               if k in state and state[k].shape == v.shape]
    if len(fitting) < len(weights) / 2:
        missing = next(k for k in weights if k not in fitting)
        raise InputError(
            f'{path}: checkpoint does not fit the model of the config: only '
            f'{len(fitting)} of its {len(weights)} weights are in it with '
            f'the right shape (e.g. not {missing}). Fix: use a checkpoint '
            'trained with this config.')


def config_key_error(error: TypeError) -> Optional[str]:
    """Explain a misspelt config key, or None if ``error`` is not one.

    MMEngine builds a component with ``obj_cls(**cfg)``; an unknown key ends
    as "got an unexpected keyword argument". The class is taken from the
    builder's frame and the closest argument names are suggested.
    """
    match = re.search(r"unexpected keyword argument '(\w+)'", str(error))
    if not match:
        return None
    obj_cls, tb = None, error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == 'build_from_cfg':
            obj_cls = tb.tb_frame.f_locals.get('obj_cls', obj_cls)
        tb = tb.tb_next
    if obj_cls is None:
        return None
    key = match.group(1)
    names = list(inspect.signature(obj_cls).parameters)
    close = difflib.get_close_matches(key, names, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ''
    return (f"config key '{key}' is not an argument of "
            f'{obj_cls.__name__}{hint}. Fix: correct it in the config or '
            f'--cfg-options; valid: {", ".join(names)}.')


def setup_cpu_distributed(cfg: Config) -> None:
    """Make ``--launcher pytorch`` work without a GPU (gloo, no device ids).

    MMEngine's pytorch launcher calls ``torch.cuda.set_device`` and gives DDP
    ``device_ids``, both of which fail on CPU. Without CUDA, initialise the
    gloo process group here (the Runner then skips its own) and wrap the
    model in DDP with ``device_ids=None``. GPU runs keep the NCCL path.
    """
    if cfg.launcher != 'pytorch' or torch.cuda.is_available():
        return
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(
            backend='gloo',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']))
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper


def build_runner(cfg: Config, checkpoint: Optional[str] = None):
    """MMEngine's Runner for ``cfg`` after the checks every tool needs.

    The work dir must be writable, the checkpoint (``checkpoint`` or
    ``cfg.load_from``) must exist and fit the model; on CPU the
    ``pytorch`` launcher uses gloo.
    """
    from mmengine.model import is_model_wrapper
    from mmengine.runner import Runner
    checkpoint = checkpoint or cfg.get('load_from')
    check_checkpoint(checkpoint)
    check_work_dir(cfg.work_dir)
    setup_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    if checkpoint and '://' not in checkpoint:
        model = runner.model
        check_checkpoint_fits(model.module if is_model_wrapper(model) else
                              model, checkpoint)
    return runner


def user_message(error: BaseException) -> str:
    """The one line to show for an ``InputError``.

    An error raised in a DataLoader worker comes back with the worker's
    traceback in its message; only the original message is kept.
    """
    lines = str(error).strip().splitlines() or ['']
    return re.sub(r'^\S*InputError: ', '', lines[-1])


def run(main: Callable[[], None]) -> None:
    """Run a tool's ``main``; bad input exits with one line, status 2."""
    try:
        main()
    except InputError as e:
        message = user_message(e)
    except TypeError as e:
        message = config_key_error(e)
        if message is None:
            raise
    else:
        return
    print(f'error: {message}', file=sys.stderr)
    sys.exit(2)
