"""The design-space exploration: every design builds, the chosen one is the
default of the configs, the RCM label diagnostics give RCM the labels they
say, and the tools import ``custom_imports`` given as ``--cfg-options``
(which those diagnostics rely on)."""
import argparse
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmseg.registry import DATASETS, MODELS
from mmseg.utils import register_all_modules

from benchmarks import explore_design
from benchmarks.ablation import (RESUME_EVERY, VARIANT_CONFIGS, resumable,
                                 schedule)
from benchmarks.crf_settings import SETTINGS, setting_options
from benchmarks.explore_design import DESIGNS
from benchmarks.rcm_labels import class_fractions
from conftest import ROOT
from projects.rcm_mam.evaluation import CAMIoUMetric
from projects.rcm_mam.models import MainSupportCAMNet
from projects.rcm_mam.models.cam_utils import max_normalise
from projects.rcm_mam.models.losses.rcm_loss import (IGNORE,
                                                     pixel_pseudo_labels)
from projects.rcm_mam.utils.cli import PathDictAction, load_config

CHOSEN = 'rcm 0.1 band 0.05-0.4 + mam relu-norm 0.1, skip unrecognised'
GT_DESIGN = 'rcm 0.1 band 0.05-0.4, ground-truth labels'


def config(path: str) -> Config:
    """A config of configs/, by its path there."""
    return Config.fromfile(osp.join(ROOT, 'configs', path))


def design_config(name: str) -> Config:
    """The design's config, its options parsed and merged as the tools
    do."""
    variant, options = DESIGNS[name]
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=PathDictAction)
    parsed = parser.parse_args(['--cfg-options', *options] if options else [])
    return load_config(osp.join(ROOT, VARIANT_CONFIGS[variant]),
                       parsed.cfg_options)


@pytest.mark.parametrize('name', list(DESIGNS))
def test_design_builds_with_its_losses(name):
    register_all_modules()
    cfg = design_config(name)
    model = MODELS.build(cfg.model)
    variant = DESIGNS[name][0]
    assert (model.rcm_loss is not None) == ('rcm' in variant)
    assert (model.mam_loss is not None) == ('mam' in variant)


def test_authors_designs_change_their_part():
    authors = config('synthetic/rcm_mam_r18_synthetic_authors.py')
    momentum = design_config('authors, momentum 0.9, 10x head')
    assert momentum.optim_wrapper.optimizer.momentum == 0.9
    assert authors.optim_wrapper.optimizer.momentum == 0.0
    assert momentum.optim_wrapper.paramwise_cfg.custom_keys == dict(
        projection=dict(lr_mult=10.0), classifier=dict(lr_mult=10.0))
    assert design_config('authors').model == authors.model


@pytest.mark.parametrize('pattern', ['synthetic/{}_r18_synthetic_authors',
                                     '{}_r50_voc_authors'])
def test_tuned_authors_configs_are_the_measured_setting(pattern):
    """Each *_authors_tuned.py pair is the authors' pair with the options
    its rows in docs/design_choices.md ran with: the same model, and every
    parameter at the same lr and momentum."""
    register_all_modules()
    options = {'model.rcm_loss.loss_weight': 0.1,
               'optim_wrapper.optimizer.momentum': 0.9,
               'optim_wrapper.paramwise_cfg.custom_keys': dict(
                   projection=dict(lr_mult=10.0),
                   classifier=dict(lr_mult=10.0))}
    for stage in ('rcm', 'rcm_mam'):
        name = pattern.format(stage)
        tuned = config(f'{name}_tuned.py')
        measured = load_config(osp.join(ROOT, 'configs', f'{name}.py'),
                               options)
        assert tuned.model == measured.model
        assert tuned.train_pipeline == measured.train_pipeline
        assert tuned.train_cfg == measured.train_cfg
        tuned.model.main_net.backbone.init_cfg = None
        model = MODELS.build(tuned.model)
        groups = [[(g['lr'], g['momentum'], len(g['params']))
                   for g in build_optim_wrapper(
                       model, cfg.optim_wrapper).optimizer.param_groups]
                  for cfg in (tuned, measured)]
        assert groups[0] == groups[1]
        lr = measured.optim_wrapper.optimizer.lr
        assert {g[0] for g in groups[0]} == {lr, 10 * lr}


def test_chosen_design_is_the_config_default():
    default = config('synthetic/rcm_mam_r18_synthetic.py').model
    chosen = design_config(f'{CHOSEN}, sum then relu').model
    assert chosen.rcm_loss == default.rcm_loss
    assert chosen.mam_loss == default.mam_loss
    assert chosen.cam_aggregation == default.cam_aggregation
    voc = config('rcm_mam_r50_voc.py').model
    assert voc.rcm_loss == default.rcm_loss
    assert voc.mam_loss == default.mam_loss


def test_ground_truth_fractions_give_rcm_the_ground_truth():
    masks = torch.tensor([[[0, 0, 1, 1],
                           [0, 0, 1, 1],
                           [2, 2, IGNORE, 1],
                           [2, 2, 0, 0]]])
    fractions = class_fractions(masks, num_classes=2, size=(2, 2))
    assert torch.allclose(fractions, torch.tensor(
        [[[[0, 1], [0, 0.25]], [[0, 0], [1, 0]]]]))
    # a cell a quarter covered falls in RCM's ignore band (0.05-0.4)
    labels = pixel_pseudo_labels(
        max_normalise(fractions, torch.ones(1, 2)), 0.05, 0.4)
    assert labels.tolist() == [[[0, 1], [2, IGNORE]]]


def test_ground_truth_design_trains_on_the_masks(voc_root):
    register_all_modules()
    cfg = design_config(GT_DESIGN)
    cfg.train_dataloader.dataset.data_root = voc_root
    packed = DATASETS.build(cfg.train_dataloader.dataset)[0]
    sample = packed['data_samples']
    assert sample.gt_sem_seg.shape == packed['inputs'].shape[-2:]
    model = MODELS.build(cfg.model)
    model.reset_support_net()
    images = packed['inputs'][None].float()
    model._samples = [sample]
    (support, ) = model._support_forward(images, (5, 5))
    assert torch.equal(support.cam, class_fractions(
        sample.gt_sem_seg.data, 20, (5, 5)))


def test_custom_imports_from_cfg_options_are_imported(monkeypatch):
    monkeypatch.delitem(sys.modules, 'colorsys', raising=False)
    load_config(osp.join(ROOT, 'configs', 'synthetic/cam_r18_synthetic.py'),
                {'custom_imports.imports': ['colorsys']})
    assert 'colorsys' in sys.modules


def test_crf_design_labels_come_from_the_image_classes(voc_root):
    register_all_modules()
    cfg = design_config('rcm 0.1 band 0.05-0.4, CRF labels')
    cfg.train_dataloader.dataset.data_root = voc_root
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    model = MODELS.build(cfg.model)
    model.reset_support_net()
    batch = model.data_preprocessor(pseudo_collate([dataset[0], dataset[1]]),
                                    training=True)
    model._samples = batch['data_samples']
    inputs = batch['inputs']
    outputs = MainSupportCAMNet._support_forward(model, inputs, (10, 10))
    masks = model.label_masks(inputs, outputs)
    assert masks.shape == (2, *inputs.shape[-2:])
    for mask, sample in zip(masks, batch['data_samples']):
        allowed = {0, *(sample.gt_score.nonzero()[:, 0] + 1).tolist()}
        assert set(mask.unique().tolist()) <= allowed
    support = model._support_forward(inputs, (10, 10))[0]
    assert torch.equal(support.cam, class_fractions(masks, 20, (10, 10)))


def test_crf_settings_are_valid_crf_configs():
    for setting in SETTINGS.values():
        CAMIoUMetric(crf=setting)  # checks keys and unary
        assert len(setting_options(setting)) == len(setting)


class RecordingAblation:
    """An ``Ablation`` that trains nothing and records the tests' options
    (it is its own ``stages``)."""

    iters = explore_design.ITERS

    def __init__(self):
        self.stages = self
        self.tested = []

    def options(self):
        return ['data=1', 'shared=1']

    def continue_from(self, name, variant, options):
        return 'design.py', 'design.pth', 'design_dir'

    def test_val(self, config, checkpoint, work_dir, options, crf=False):
        self.tested.append(options)
        return {'cam/oracle_mIoU': 40.0, 'cam/oracle_threshold': 0.3,
                'multi-label/mAP': 90.0}


def test_designs_are_tested_with_their_own_options(monkeypatch):
    # model.cam_aggregation acts in inference: a design's options must
    # reach tools/test.py, not only the training
    monkeypatch.setattr(explore_design, 'iteration_time', lambda d: 1.0)
    ablation = RecordingAblation()
    explore_design.explore(ablation, ['cam, sum then relu'])
    assert ablation.tested == [['data=1', 'shared=1',
                                'model.cam_aggregation=sum_then_relu']]


def test_long_continuations_keep_checkpoints_to_resume_from():
    # a killed 1,500-iteration continuation resumes from its last 500;
    # the ablation's 150-iteration runs keep their recorded options
    assert resumable(150) == [] and resumable(RESUME_EVERY) == []
    options = schedule(1500) + resumable(1500)
    assert options[-1] == f'default_hooks.checkpoint.interval={RESUME_EVERY}'
