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
