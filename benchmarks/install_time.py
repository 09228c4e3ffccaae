"""How long ``tools/setup_env.sh`` takes: cold, with the mmcv wheel, warm.

    python benchmarks/install_time.py --kinds cold wheel warm \
        [--out benchmarks/results/install.json]

Each kind installs into a venv of its own under a temporary folder (the
repository's ``.venv`` is left alone):

- ``cold``: an empty pip cache and no mmcv wheel anywhere, so everything is
  downloaded and mmcv is compiled from source;
- ``wheel``: the machine's pip cache and the mmcv wheel of
  ``~/.cache/rcm-mam/wheels`` (or of ``RCM_MAM_EXTRA_WHEELS``), as a
  second checkout on the same machine installs;
- ``warm``: ``setup_env.sh`` run again on the ``wheel`` venv (made first
  if missing), nothing changed.

Every line the script prints is timed, so the mmcv compile is measured on
its own. Kinds already in ``--out`` are kept (a re-run measures only the
missing ones; ``--force`` measures them again).
"""
import argparse
import json
import os
import os.path as osp
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from projects.rcm_mam.utils.file_io import dump_json  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SETUP = osp.join(ROOT, 'tools', 'setup_env.sh')


def timed_run(env: Dict[str, str]) -> List[List]:
    """Run setup_env.sh; its output as [seconds since start, line] pairs.

    Raises:
        RuntimeError: If the script fails (with its last lines).
    """
    start = time.perf_counter()
    proc = subprocess.Popen(['bash', SETUP], env=dict(os.environ, **env),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines = []
    for line in proc.stdout:
        lines.append([round(time.perf_counter() - start, 1), line.rstrip()])
        print(f'{lines[-1][0]:8.1f}  {line}', end='', flush=True)
    if proc.wait():
        tail = '\n'.join(text for _, text in lines[-20:])
        raise RuntimeError(f'setup_env.sh failed:\n{tail}')
    lines.append([round(time.perf_counter() - start, 1), '(end)'])
    return lines


def mmcv_build_seconds(lines: List[List]) -> float:
    """Seconds from setup_env.sh's 'building mmcv' line to its next line
    (the compile and install of the wheel); 0 if the wheel was found."""
    start = next((t for t, text in lines if 'building mmcv' in text), None)
    if start is None:
        return 0.0
    return next(t for t, text in lines
                if t > start and text.startswith('[setup_env]')) - start


def measure(kind: str, tmp: str) -> dict:
    """One install of ``kind`` (see the module docstring)."""
    venv = osp.join(tmp, 'venv_cold' if kind == 'cold' else 'venv')
    env = dict(RCM_MAM_VENV=venv)
    if kind == 'cold':
        env.update(PIP_CACHE_DIR=osp.join(tmp, 'pip_cache'),
                   RCM_MAM_WHEEL_CACHE=osp.join(tmp, 'wheels'),
                   RCM_MAM_EXTRA_WHEELS='')
    if kind == 'warm' and not osp.isfile(
            osp.join(venv, '.rcm_mam_installed')):
        timed_run(env)  # the install that warm re-runs
    lines = timed_run(env)
    return dict(seconds=lines[-1][0], mmcv_build_seconds=mmcv_build_seconds(
        lines), log=lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--kinds', nargs='+', default=['wheel', 'warm'],
                        choices=['cold', 'wheel', 'warm'])
    parser.add_argument('--out', default=osp.join(ROOT, 'benchmarks',
                                                  'results', 'install.json'))
    parser.add_argument('--force', action='store_true',
                        help='measure kinds already in --out again')
    args = parser.parse_args()
    result = dict(kinds={})
    if osp.isfile(args.out):
        with open(args.out) as f:
            result = json.load(f)
    result.update(machine=f'{os.cpu_count()} CPU cores, {platform.machine()}')
    tmp = tempfile.mkdtemp(prefix='install_time_')
    try:
        for kind in sorted(set(args.kinds), key=['cold', 'wheel',
                                                  'warm'].index):
            if kind in result['kinds'] and not args.force:
                continue
            row = measure(kind, tmp)
            row['date'] = time.strftime('%Y-%m-%d')
            result['kinds'][kind] = row
            dump_json(result, args.out)
            print(f'{kind}: {row["seconds"]:.0f} s (mmcv build '
                  f'{row["mmcv_build_seconds"]:.0f} s)')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
