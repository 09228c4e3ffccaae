"""What made a pipeline stage's output folder, and whether it still fits.

Each folder a tool writes for a pipeline stage holds ``<tool>_command.json``:
the tool's arguments (config first), the number of processes, a SHA-256 of
the config's content (bases merged) and one of each checkpoint an argument
names, by content (a retrained ``iter_N.pth`` keeps its path), and of each
pseudo-mask folder's generation record (masks made again with other
settings keep the folder's path). A re-run with another config,
checkpoint, mask folder or option stops instead of resuming or reusing
outputs that would mix runs or report stale scores.
"""
import hashlib
import json
import os
import os.path as osp
from functools import lru_cache
from typing import Dict, List

from mmengine.config import Config

from .errors import InputError
from .file_io import dump_json
from .generation_record import RECORD as GENERATION_RECORD


@lru_cache(maxsize=None)
def config_sha256(path: str) -> str:
    """SHA-256 of a config's content (bases merged), once per path."""
    config = Config.fromfile(path).to_dict()
    return hashlib.sha256(json.dumps(config, sort_keys=True,
                                     default=str).encode()).hexdigest()


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


def input_digests(arguments: List[str]) -> Dict[str, str]:
    """SHA-256 of each input an argument names (as itself or as
    ``KEY=PATH``) whose content can change under the same path: a
    checkpoint, and a pseudo-mask folder (its generation record, which
    holds what made the masks)."""
    paths = [a.split('=', 1)[-1] for a in arguments]
    digests = {p: file_sha256(p, stamp(p)) for p in paths
               if p.endswith('.pth') and osp.isfile(p)}
    for path in paths:
        record = osp.join(path, GENERATION_RECORD)
        if osp.isfile(record):
            digests[record] = file_sha256(record, stamp(record))
    return digests


class StaleOutputError(InputError):
    """An output folder made otherwise than asked (its ``folder``)."""

    def __init__(self, message: str, folder: str) -> None:
        super().__init__(message)
        self.folder = folder


def claim_command(work_dir: str, script: str, arguments: List[str],
                  processes: int, started: bool) -> None:
    """Record what tools/SCRIPT.py makes in ``work_dir`` from, or check
    that what it ``started`` there came from the same config and
    arguments.

    Args:
        work_dir (str): The tool's output folder.
        script (str): The tool's name, e.g. 'train'.
        arguments (list[str]): Its arguments, the config's path (absolute)
            first.
        processes (int): Processes it runs in.
        started (bool): Whether ``work_dir`` already holds its output.

    Raises:
        StaleOutputError: If the output there was made otherwise, or by a
            run that did not record how.
    """
    record = osp.join(work_dir, f'{script}_command.json')
    command = dict(arguments=arguments, gpus=processes,
                   config_sha256=config_sha256(arguments[0]),
                   inputs_sha256=input_digests(arguments))
    if osp.isfile(record):
        with open(record) as f:
            if json.load(f) == command:
                return
        made = (f'with another config or other arguments ({record}; '
                'or by an older version of this project, which recorded '
                'less)')
    elif started:
        made = 'by a run that did not record its config and arguments'
    else:
        dump_json(command, record)
        return
    raise StaleOutputError(
        f'the tools/{script}.py output in {work_dir} was made {made}. '
        'Fix: remove that folder or choose another --work-dir.', work_dir)
