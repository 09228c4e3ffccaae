"""The model index lists every benchmark config (``configs/*.py``) and the
authors' synthetic recipe (as written and as `val` tuned it) once, under its
own name, in MMSegmentation's metafile format."""
import glob
import os.path as osp

import yaml

from conftest import ROOT


def test_metafile_lists_every_benchmark_config():
    with open(osp.join(ROOT, 'projects', 'rcm_mam', 'metafile.yaml')) as f:
        index = yaml.safe_load(f)
    collections = {c['Name'] for c in index['Collections']}
    models = index['Models']
    for model in models:
        assert model['In Collection'] in collections
        assert osp.isfile(osp.join(ROOT, model['Config'])), model['Config']
        assert model['Name'] == osp.splitext(
            osp.basename(model['Config']))[0]
    configs = sorted(osp.relpath(p, ROOT)
                     for p in glob.glob(osp.join(ROOT, 'configs', '*.py')))
    listed = sorted(m['Config'] for m in models)
    assert [c for c in listed if osp.dirname(c) == 'configs'] == configs
    # the authors' synthetic recipe, and as `val` tuned it
    assert {f'configs/synthetic/{stage}_r18_synthetic_authors{tuned}.py'
            for stage in ('rcm', 'rcm_mam')
            for tuned in ('', '_tuned')} <= set(listed)
