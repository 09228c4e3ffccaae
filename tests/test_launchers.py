"""The Slurm launchers pass MMSegmentation's srun options and the tool's own
arguments (a fake ``srun`` records them: no cluster here)."""
import os
import os.path as osp
import subprocess

import pytest

from conftest import ROOT

FAKE_SRUN = '#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$SRUN_LOG"\n'


@pytest.mark.parametrize('script, args, tool', [
    ('slurm_train.sh', ['CONFIG', 'WORK'], ['train.py', 'CONFIG',
                                             '--work-dir=WORK']),
    ('slurm_test.sh', ['CONFIG', 'CKPT'], ['test.py', 'CONFIG', 'CKPT']),
])
def test_slurm_scripts_call_srun_with_the_tool(tmp_path, script, args, tool):
    srun = tmp_path / 'srun'
    srun.write_text(FAKE_SRUN)
    srun.chmod(0o755)
    log = tmp_path / 'srun.log'
    env = dict(os.environ, PATH=f'{tmp_path}:{os.environ["PATH"]}',
               SRUN_LOG=str(log), GPUS='8', GPUS_PER_NODE='8')
    subprocess.run(['bash', osp.join('tools', script), 'gpu', 'job', *args,
                    '--cfg-options', 'a=1'], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    argv = log.read_text().splitlines()
    assert argv[:6] == ['-p', 'gpu', '--job-name=job', '--gres=gpu:8',
                        '--ntasks=8', '--ntasks-per-node=8']
    start = argv.index('-u') + 1
    assert osp.basename(argv[start]) == tool[0]
    assert argv[start + 1:] == [*tool[1:], '--launcher=slurm',
                                '--cfg-options', 'a=1']
