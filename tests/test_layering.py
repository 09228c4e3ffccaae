"""Imports go tools -> package -> mm* libraries: the package never imports
the tools or the benchmarks."""
import subprocess
import sys

from conftest import ROOT

CHECK = """
import pkgutil, sys
import projects.rcm_mam as package
for module in pkgutil.walk_packages(package.__path__, 'projects.rcm_mam.'):
    __import__(module.name)
print(sorted(m for m in sys.modules
             if m.split('.')[0] in ('tools', 'benchmarks')))
"""


def test_package_imports_no_tool_or_benchmark():
    out = subprocess.run([sys.executable, '-c', CHECK], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == '[]'


def test_importing_the_package_changes_no_global_behaviour():
    """MMEngine's checkpoint loader and mmcv's hue jitter stay theirs until
    a tool asks for the project's (use_trusted_checkpoints, use_hue_shift)."""
    code = (
        'import mmcv\n'
        'from mmengine.runner import CheckpointLoader\n'
        "before = CheckpointLoader._schemes[''], mmcv.adjust_hue\n"
        'import projects.rcm_mam\n'
        "assert (CheckpointLoader._schemes[''], mmcv.adjust_hue) == before\n"
        'from projects.rcm_mam.utils.checkpoint import '
        'use_trusted_checkpoints\n'
        'use_trusted_checkpoints()\n'
        "assert CheckpointLoader._schemes[''] is not before[0]\n")
    result = subprocess.run([sys.executable, '-c', code], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
