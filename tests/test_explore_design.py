"""The design-space exploration: every design builds, the chosen one is the
default of the configs."""
import argparse
import os.path as osp
import sys

import pytest
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

from conftest import ROOT

sys.path.insert(0, osp.join(ROOT, 'benchmarks'))

from explore_design import DESIGNS  # noqa: E402

from projects.rcm_mam.utils.cli import add_runner_args, load_config  # noqa

CHOSEN = 'rcm 0.1 band 0.05-0.4 + mam relu-norm 0.1, skip unrecognised'


def design_config(name: str):
    variant, options = DESIGNS[name]
    parser = argparse.ArgumentParser()
    add_runner_args(parser)  # the tools' own --cfg-options parsing
    parsed = parser.parse_args(['--cfg-options', *options] if options else [])
    return load_config(
        osp.join(ROOT, 'configs', 'synthetic', f'{variant}_r18_synthetic.py'),
        parsed.cfg_options)


@pytest.mark.parametrize('name', list(DESIGNS))
def test_design_builds_with_its_losses(name):
    register_all_modules()
    cfg = design_config(name)
    model = MODELS.build(cfg.model)
    variant = DESIGNS[name][0]
    assert (model.rcm_loss is not None) == ('rcm' in variant)
    assert (model.mam_loss is not None) == ('mam' in variant)


def test_chosen_design_is_the_config_default():
    default = load_config(osp.join(ROOT, 'configs', 'synthetic',
                                   'rcm_mam_r18_synthetic.py')).model
    chosen = design_config(CHOSEN).model
    assert chosen.rcm_loss == default.rcm_loss
    assert chosen.mam_loss == default.mam_loss
    voc = load_config(osp.join(ROOT, 'configs', 'rcm_mam_r50_voc.py')).model
    assert voc.rcm_loss == default.rcm_loss
    assert voc.mam_loss == default.mam_loss
