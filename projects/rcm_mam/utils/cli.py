"""What the command-line tools share: config loading, CPU launch, errors."""
import os
import os.path as osp
import re
import sys
from typing import Callable, Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config

from .errors import InputError


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file and merge the ``--cfg-options`` into it."""
    if not osp.isfile(path):
        raise InputError(f'{path}: config file not found. Fix: pass a path '
                         'like configs/synthetic/rcm_mam_r18_synthetic.py.')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def check_checkpoint(path: Optional[str]) -> None:
    """A local checkpoint to load must exist (URLs are left to MMEngine)."""
    if path and '://' not in path and not osp.isfile(path):
        raise InputError(f'{path}: checkpoint not found. Fix: give the path '
                         'of a .pth file written by tools/train.py.')


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
    """Run a tool's ``main``; bad input exits with one line, status 2."""
    try:
        main()
    except InputError as e:
        print(f'error: {user_message(e)}', file=sys.stderr)
        sys.exit(2)
