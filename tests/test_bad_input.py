"""The bad-input table of the README, one case per row.

Data errors are raised by the dataset while it is built (in-process here);
run errors come out of the tools as one ``error: ...`` line on stderr with
exit status 2 and no traceback.
"""
import logging
import os
import os.path as osp
import subprocess

import numpy as np
import pytest
import torch

from conftest import (PYTHON, ROOT, build_dataset, save_model_checkpoint,
                      tiny_config)
from projects.rcm_mam.datasets import voc_image_label
from projects.rcm_mam.engine import PseudoLabelHook
from projects.rcm_mam.utils import InputError, save_label_png

# ---------------------------------------------------------------- data ---


def error_of(root, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        build_dataset(root, **kwargs)
    return str(info.value)


def test_missing_data_root(tmp_path):
    message = error_of(str(tmp_path / 'nowhere'))
    assert 'nowhere: data_root does not exist' in message
    assert 'make_synthetic_voc' in message


def test_missing_split_file(root):
    message = error_of(root, split='train_ag')
    assert 'train_ag.txt: split file not found' in message


def test_missing_image(root):
    os.remove(osp.join(root, 'JPEGImages', '2007_000004.jpg'))
    message = error_of(root)
    assert '2007_000004.jpg: image listed in the split file does not ' \
        'exist' in message


@pytest.mark.parametrize('content,reason', [
    (b'', 'empty image file'),
    (b'GIF89a garbage', 'not a JPEG file'),
    ('truncate', 'truncated JPEG'),
])
def test_corrupt_jpeg(root, content, reason):
    path = osp.join(root, 'JPEGImages', '2007_000005.jpg')
    if content == 'truncate':
        content = open(path, 'rb').read()[:500]
    with open(path, 'wb') as f:
        f.write(content)
    message = error_of(root)
    assert f'2007_000005.jpg: {reason}' in message


def test_mask_value_out_of_range(root):
    path = osp.join(root, 'SegmentationClassAug', '2007_000006.png')
    label = np.zeros((10, 10), np.uint8)
    label[0, 0] = 21
    save_label_png(label, path, palette=None)
    message = error_of(root)
    assert '2007_000006.png: mask values [21] are outside the 21 classes' \
        in message


def test_truncated_mask(root):
    path = osp.join(root, 'SegmentationClassAug', '2007_000007.png')
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    assert '2007_000007.png: unreadable mask' in error_of(root)


@pytest.mark.parametrize('bad', ['../escape', '/etc/passwd', 'a/../../b'])
def test_unsafe_names_are_rejected(root, bad):
    with open(osp.join(root, 'ImageSets/Segmentation/train.txt'), 'a') as f:
        f.write(bad + '\n')
    assert 'is not a plain relative name' in error_of(root)


def test_image_without_foreground_is_skipped_with_warning(root, monkeypatch):
    logged = []
    monkeypatch.setattr(voc_image_label, 'print_log',
                        lambda msg, **kwargs: logged.append((msg, kwargs)))
    name = '2007_000003'
    path = osp.join(root, 'SegmentationClassAug', name + '.png')
    save_label_png(np.zeros((10, 10), np.uint8), path, palette=None)
    dataset = build_dataset(root)
    assert len(dataset) == 11
    assert name not in [i['img_name'] for i in dataset]
    (message, kwargs), = logged
    assert 'skipped 1 images with no foreground class' in message
    assert name in message and kwargs['level'] == logging.WARNING


@pytest.mark.parametrize('out_dir', ['../out', '/tmp/out', 'a/../../out'])
def test_pseudo_labels_stay_in_the_work_dir(out_dir):
    with pytest.raises(InputError, match='is not a plain relative name'):
        PseudoLabelHook(out_dir=out_dir)

# ----------------------------------------------------------------- run ---


@pytest.fixture(scope='module')
def cli_case(voc_root, tmp_path_factory):
    """A tiny config, a checkpoint that fits it and one that does not."""
    tmp = tmp_path_factory.mktemp('cli')
    config = tiny_config(tmp / 'cfg.py', voc_root,
                         'synthetic/cam_r18_synthetic.py')
    save_model_checkpoint(config, tmp / 'fits.pth')
    torch.save(dict(state_dict={'backbone.conv1.weight': torch.zeros(1)}),
               tmp / 'other.pth')
    blocked = tmp / 'no_crf' / 'pydensecrf'
    blocked.mkdir(parents=True)
    (blocked / '__init__.py').write_text('raise ImportError("blocked")\n')
    (tmp / 'a_file').write_text('')
    return tmp, config


def tool_error(args, env=None) -> str:
    """Run a tool expecting bad input: the single line it prints."""
    result = subprocess.run([PYTHON, *args], cwd=ROOT, capture_output=True,
                            text=True, env=dict(os.environ, **(env or {})))
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('error: ') and 'Fix:' in last, last
    return last


# (case, tool and arguments, expected in the message); {tmp} is the case's
# folder, {config} its config
RUN_CASES = [
    ('missing data root',
     ['tools/train.py', '{config}', '--cfg-options',
      'train_dataloader.dataset.data_root={tmp}/nowhere'],
     '{tmp}/nowhere: data_root does not exist'),
    ('config key typo',
     ['tools/train.py', '{config}', '--cfg-options',
      'model.loss_cls.use_sigmod=True'],
     "config key 'use_sigmod' is not an argument of CrossEntropyLoss "
     "(did you mean 'use_sigmoid'?)"),
    ('option off the config',
     ['tools/train.py', '{config}', '--cfg-options', 'custom_hooks.5.a=1'],
     'cfg.py: --cfg-options do not fit the config: Index 5 exceeds'),
    ('missing checkpoint', ['tools/test.py', '{config}', '{tmp}/gone.pth'],
     '{tmp}/gone.pth: checkpoint not found'),
    ('incompatible checkpoint',
     ['tools/test.py', '{config}', '{tmp}/other.pth'],
     '{tmp}/other.pth: checkpoint does not fit the model of the config'),
    ('unwritable work dir',
     ['tools/train.py', '{config}', '--work-dir', '{tmp}/a_file/work'],
     '{tmp}/a_file/work: cannot write to the work dir'),
    ('CRF asked for, not installed',
     ['tools/test.py', '{config}', '{tmp}/fits.pth', '--work-dir',
      '{tmp}/test'],
     'dense CRF is switched on (crf=...) but pydensecrf is not installed'),
]


@pytest.mark.slow
@pytest.mark.parametrize('case,args,expected', RUN_CASES,
                         ids=[c[0] for c in RUN_CASES])
def test_tool_reports_bad_input(cli_case, case, args, expected):
    tmp, config = cli_case
    args = [a.format(tmp=tmp, config=config) for a in args]
    env = dict(PYTHONPATH=str(tmp / 'no_crf')) if 'CRF' in case else None
    assert expected.format(tmp=tmp) in tool_error(args, env)
