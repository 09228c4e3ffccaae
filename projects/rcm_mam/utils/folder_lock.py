"""One run at a time in an output folder.

Two runs writing into one folder (two ``make_pseudo_labels.py`` with
different settings, two trainings with one ``--work-dir``) would mix their
outputs and records. A run claims the folder with an exclusive ``flock`` on
``FOLDER/.lock``, held until the process ends (a kill releases it too, so
a re-run resumes); a second run is refused at once.
"""
import fcntl
import os
import os.path as osp
import time
from typing import IO, List

from .errors import InputError

_HELD: List[IO] = []  # the open lock files of this process


def lock_folder(folder: str, what: str) -> None:
    """Hold ``folder``'s lock for the rest of this process.

    Args:
        folder (str): The output folder (made if missing).
        what (str): This run, for another run's message (e.g. 'training').

    Raises:
        InputError: If another process holds it.
    """
    os.makedirs(folder, exist_ok=True)
    path = osp.join(folder, '.lock')
    if any(f.name == path for f in _HELD):
        return
    handle = open(path, 'a+')
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or 'another process'
        handle.close()
        raise InputError(f'{folder} is in use by another run ({owner}). '
                         'Fix: wait for it to finish, or write elsewhere '
                         '(--work-dir).') from None
    handle.seek(0)
    handle.truncate()
    handle.write(f'{what}, pid {os.getpid()}, since '
                 f'{time.strftime("%Y-%m-%d %H:%M:%S")}')
    handle.flush()
    _HELD.append(handle)
