"""Convert the ImageNet weights of ResNet-38d to the project's backbone.

    python tools/model_converters/resnet38d_psa.py SRC OUT_DIR [--name NAME]

SRC is either published form: Wu et al.'s MXNet original
(``ilsvrc-cls_rna-a1_cls1000_ep-0001.params``, model A1 of
github.com/itijyou/ademxapp, which PSA's README links), read here without
MXNet, or PSA's converted ``.pth`` (keys ``b2.bn_branch2a.weight``, ...;
a ``.pth`` of this layout is taken as it is: PSA's CAM-trained
``res38_cls.pth`` has it too, so give the ImageNet one).
The form is told by the file's first bytes and checked by key names and
shapes against ``ResNet38d``: any other network is one clear error. The
ImageNet classifier (``linear1000``) is dropped. Writes
OUT_DIR/NAME-<sha256[:8]>.pth (default NAME ``resnet38d_psa``), its
``state_dict`` in fp32, and records it in OUT_DIR/SHA256SUMS, as
``tools/publish_checkpoint.py`` does, and prints the option that gives it
to the ``*_r38_*`` configs.
"""
import argparse
import os.path as osp
import re
import sys
from typing import Dict, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

import torch  # noqa: E402

from projects.rcm_mam.models import ResNet38d  # noqa: E402
from projects.rcm_mam.utils.checkpoint import \
    use_trusted_checkpoints  # noqa: E402
from projects.rcm_mam.utils.cli import run  # noqa: E402
from projects.rcm_mam.utils.errors import InputError  # noqa: E402
from tools.model_converters.mxnet_params import (  # noqa: E402
    FormatError, is_mxnet_params, read_mxnet_params)
from tools.publish_checkpoint import publish  # noqa: E402

# MXNet's BN parameter names: the backbone's
BN_NAMES = {'gamma': 'weight', 'beta': 'bias', 'moving_mean': 'running_mean',
            'moving_var': 'running_var'}
# res4b5_branch2b1_weight, bn4b5_branch2b1_moving_mean, bn7_gamma, ...
MXNET_KEY = re.compile(r'(?P<kind>res|bn)(?P<stage>\d)(?P<unit>a|b\d+)?'
                       r'(?:_(?P<branch>branch\w+?))?_(?P<param>weight|gamma'
                       r'|beta|moving_mean|moving_var)')


def backbone_key(name: str) -> Optional[str]:
    """The backbone's key of an MXNet array name (``arg:``/``aux:``
    prefix allowed); None for the ImageNet classifier or an unknown
    name."""
    name = name.split(':', 1)[-1]
    if name == 'conv1a_weight':
        return 'conv1a.weight'
    match = MXNET_KEY.fullmatch(name)
    if match is None:
        return None
    kind, stage, unit, branch, param = match.group(
        'kind', 'stage', 'unit', 'branch', 'param')
    param = BN_NAMES.get(param, param)
    if branch is None:  # the last BN
        return f'bn{stage}.{param}' if kind == 'bn' and not unit else None
    block = f'b{stage}' if unit == 'a' else f'b{stage}_{unit[1:]}'
    return f'{block}.{"conv" if kind == "res" else "bn"}_{branch}.{param}'


def read_weights(path: str) -> Dict[str, torch.Tensor]:
    """The weights of either published form, by the backbone's keys (only
    those of a known name)."""
    if is_mxnet_params(path):
        arrays = read_mxnet_params(path)
        renamed = {backbone_key(k): torch.from_numpy(v)
                   for k, v in arrays.items()}
        return {k: v for k, v in renamed.items() if k is not None}
    checkpoint = torch.load(path, map_location='cpu', weights_only=False)
    return checkpoint.get('state_dict', checkpoint)


def converted(path: str) -> Dict[str, torch.Tensor]:
    """The backbone's full state dict from ``path``, float32, every key
    checked; BN batch counters added (neither form has them)."""
    try:
        weights = read_weights(path)
    except (FormatError, RuntimeError, OSError) as e:
        raise InputError(f'{path}: unreadable ({e}). Fix: give the MXNet '
                         '.params file or PSA\'s converted .pth.') from None
    expected = ResNet38d().state_dict()
    state = {}
    for key, value in expected.items():
        if key.endswith('num_batches_tracked'):
            state[key] = torch.zeros_like(value)
        elif key not in weights or weights[key].shape != value.shape:
            found = 'missing' if key not in weights else \
                f'of shape {tuple(weights[key].shape)}'
            raise InputError(
                f'{path}: not ResNet-38d\'s weights: {key} '
                f'{tuple(value.shape)} is {found}. Fix: give Wu et al.\'s '
                'A1 ImageNet file '
                '(ilsvrc-cls_rna-a1_cls1000_ep-0001.params) or PSA\'s '
                'conversion of it.')
        else:
            state[key] = weights[key].float()
    return state


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='the .params or .pth file')
    parser.add_argument('out_dir')
    parser.add_argument('--name', default='resnet38d_psa')
    args = parser.parse_args()
    if not osp.isfile(args.src):
        raise InputError(f'{args.src}: no such file. Fix: give the path of '
                         'the downloaded weights.')
    use_trusted_checkpoints()
    path = publish(dict(state_dict=converted(args.src)), args.out_dir,
                   args.name)
    print('train configs/rcm{,_mam}_r38_voc_authors.py on it with '
          f'--cfg-options model.main_net.backbone.init_cfg.checkpoint={path}')


if __name__ == '__main__':
    run(main)
