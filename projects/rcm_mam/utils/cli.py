"""What the tools add to MMEngine's: options, CPU launch, one-line errors."""
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


def load_config(path: str, options: Optional[dict] = None) -> Config:
    """``Config.fromfile(path)`` with the ``--cfg-options`` merged, and the
    ``custom_imports`` they set imported (MMEngine imports only those of
    the file).

    Raises:
        InputError: If the file does not exist or an option does not fit
            the config (MMEngine's message).
    """
    if not osp.isfile(path):
        raise InputError(f'{path}: config file not found. Fix: pass a path '
                         'like configs/synthetic/rcm_mam_r18_synthetic.py.')
    cfg = Config.fromfile(path)
    if not options:
        return cfg
    try:
        cfg.merge_from_dict(options)
    except (KeyError, TypeError) as e:
        raise InputError(f'{path}: --cfg-options do not fit the config: '
                         f'{e.args[0]}. Fix: check the option against the '
                         'config (python -c "from mmengine import Config; '
                         'print(Config.fromfile(CONFIG).pretty_text)").')
    if any(key.split('.')[0] == 'custom_imports' for key in options):
        import_modules_from_strings(**cfg.custom_imports)
    return cfg


def check_work_dir(work_dir: str) -> None:
    """The work dir must be creatable and writable before a long run
    (MMEngine would fail on it with a traceback).

    Raises:
        InputError: If it is not.
    """
    try:
        os.makedirs(work_dir, exist_ok=True)
        tempfile.TemporaryFile(dir=work_dir).close()
    except OSError as e:
        raise InputError(f'{work_dir}: cannot write to the work dir '
                         f'({e.strerror}). Fix: pass --work-dir with a '
                         'writable folder.')


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


def user_message(error: BaseException) -> str:
    """The one line to show for an ``InputError``.

    An error raised in a DataLoader worker comes back with the worker's
    traceback in its message; only the original message is kept.
    """
    lines = str(error).strip().splitlines() or ['']
    return re.sub(r'^\S*InputError: ', '', lines[-1])


def run(main: Callable[[], None]) -> None:
    """Run a tool's ``main``; bad input exits with one line, status 2.

    Bad input is an :class:`InputError`, or a config key that its component
    does not take (Python's "unexpected keyword argument" message, with a
    hint).
    """
    try:
        main()
    except InputError as e:
        message = user_message(e)
    except TypeError as e:
        if 'unexpected keyword argument' not in str(e):
            raise
        message = f'{e}. Fix: correct the key in the config or in ' \
            '--cfg-options.'
    else:
        return
    print(f'error: {message}', file=sys.stderr)
    sys.exit(2)
