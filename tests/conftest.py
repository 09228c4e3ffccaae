"""Shared fixtures: a small synthetic VOC set made once per test session."""
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from projects.rcm_mam.datasets.synthetic_voc import make_synthetic_voc  # noqa


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'slow: end-to-end runs of a minute or more (CI runs '
        'them; skip locally with -m "not slow")')


@pytest.fixture(scope='session')
def voc_root(tmp_path_factory) -> str:
    """``VOCdevkit/VOC2012`` of a 12/6/6-image synthetic set (read-only)."""
    out = tmp_path_factory.mktemp('synthetic')
    make_synthetic_voc(str(out), seed=0, num_train=12, num_val=6, num_aug=6)
    return osp.join(str(out), 'VOCdevkit', 'VOC2012')
