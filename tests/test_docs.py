"""The README and docs/: short, their tables made from the results, and
every path, link and option they name real."""
import glob
import itertools
import json
import os.path as osp
import re
import shlex

import pytest

from benchmarks import tables
from conftest import ROOT

README = osp.join(ROOT, 'README.md')
# docs that describe the project as it is (random_init_regime.md records an
# earlier state, with the paths of its commit)
CURRENT_DOCS = [README] + [
    p for p in sorted(glob.glob(osp.join(ROOT, 'docs', '*.md')))
    if not p.endswith('random_init_regime.md')]
PATH = re.compile(r'(?<![\w./$-])((?:tools|configs|benchmarks|projects|docs|'
                  r'tests|pretrained)/[\w./{},-]*\w)')


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


def expand_braces(path: str):
    """``a/{b,c}_d`` -> ``a/b_d``, ``a/c_d``."""
    parts = re.split(r'\{([^}]*)\}', path)
    choices = [[p] if i % 2 == 0 else p.split(',')
               for i, p in enumerate(parts)]
    return [''.join(c) for c in itertools.product(*choices)]


def code_lines(text: str):
    """The command lines of the bash blocks, continuation lines joined."""
    for block in re.findall(r'```bash\n(.*?)```', text, re.S):
        yield from block.replace('\\\n', ' ').splitlines()


def test_readme_is_short():
    assert len(read(README).splitlines()) <= 250


def test_tables_match_the_results():
    for path in CURRENT_DOCS:
        text = read(path)
        assert tables.render(text) == text, \
            f'{path}: run python benchmarks/tables.py'


def test_a_table_follows_its_json(tmp_path, monkeypatch):
    result = json.loads(read(osp.join(tables.RESULTS, 'pipeline.json')))
    result['rows'][-1]['mIoU'] = 12.345
    (tmp_path / 'pipeline.json').write_text(json.dumps(result))
    monkeypatch.setattr(tables, 'RESULTS', str(tmp_path))
    text = tables.render('<!-- table pipeline pipeline.json -->\nSTALE\n'
                         '<!-- end table -->')
    assert f"| {result['rows'][-1]['stage']} | 12.35 |" in text
    assert 'STALE' not in text


def test_unknown_renderer_is_refused():
    with pytest.raises(KeyError, match='nothing'):
        tables.render('<!-- table nothing x.json -->\n<!-- end table -->')


@pytest.mark.parametrize('doc', CURRENT_DOCS,
                         ids=[osp.relpath(p, ROOT) for p in CURRENT_DOCS])
def test_named_paths_exist(doc):
    text = re.sub(r'`[^`]*(?:work_dirs|data)/[^`]*`', '', read(doc))
    missing = [p for path in PATH.findall(text) for p in expand_braces(path)
               if '*' not in p and not osp.exists(osp.join(ROOT, p))]
    assert not missing


@pytest.mark.parametrize('doc', CURRENT_DOCS,
                         ids=[osp.relpath(p, ROOT) for p in CURRENT_DOCS])
def test_links_exist(doc):
    links = re.findall(r'\]\(([^)#:]+)(?:#[^)]*)?\)', read(doc))
    assert links or doc != README
    missing = [link for link in links if not osp.exists(
        osp.join(osp.dirname(doc), link))]
    assert not missing


def test_readme_commands_use_real_options():
    """Each --option of a python command in the README's code is one its
    script defines."""
    checked = 0
    for doc in CURRENT_DOCS:
        for line in code_lines(read(doc)):
            words = shlex.split(line.split('#')[0].replace('$', ''))
            scripts = [w for w in words if w.endswith('.py')
                       and w.startswith(('tools/', 'benchmarks/'))]
            if not scripts:
                continue
            source = read(osp.join(ROOT, scripts[0]))
            for word in words:
                option = word.split('=')[0]
                if option.startswith('--'):
                    assert f"'{option}'" in source, (doc, line, option)
                    checked += 1
    assert checked >= 5
