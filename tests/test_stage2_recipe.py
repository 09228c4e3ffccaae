"""benchmarks/stage2_recipe.py: each recipe is the optimizer and schedule
its name says, on the synthetic DeepLabV3 config."""
import argparse
import os.path as osp

import pytest
from mmengine.optim import build_optim_wrapper
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

from benchmarks.ablation import RESUME_EVERY
from benchmarks.stage2_recipe import CONFIG, RECIPES, slug
from conftest import ROOT
from projects.rcm_mam.utils.cli import PathDictAction, load_config


def recipe_config(name: str):
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=PathDictAction)
    options = RECIPES[name]
    parsed = parser.parse_args(['--cfg-options', *options] if options else [])
    return load_config(osp.join(ROOT, CONFIG), parsed.cfg_options)


@pytest.mark.parametrize('name', list(RECIPES))
def test_recipe_is_its_name(name):
    register_all_modules()
    cfg = recipe_config(name)
    cfg.model.backbone.init_cfg = None
    optimizer = build_optim_wrapper(MODELS.build(cfg.model),
                                    cfg.optim_wrapper).optimizer
    kind, lr = ('SGD', 0.01) if name.startswith('SGD') else ('AdamW', 1e-3)
    assert type(optimizer).__name__ == kind
    assert optimizer.param_groups[0]['lr'] == lr
    if kind == 'SGD':
        assert optimizer.param_groups[0]['momentum'] == 0.9
    iters = 1600 if '1,600' in name else 800
    # the poly decay ends with the training, and a long run can resume
    assert cfg.train_cfg.max_iters == cfg.param_scheduler[0].end == iters
    assert cfg.default_hooks.checkpoint.interval <= 800
    if RECIPES[name]:  # every recipe but the config keeps the ablation's
        assert cfg.default_hooks.checkpoint.interval == RESUME_EVERY


def test_recipes_have_their_own_folders():
    assert len({slug(name) for name in RECIPES}) == len(RECIPES)
