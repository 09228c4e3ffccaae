"""Publish a trained checkpoint: weights only, fp16, named by its sha256.

    python tools/publish_checkpoint.py CHECKPOINT OUT_DIR --name NAME

writes ``OUT_DIR/NAME-<first 8 hex digits of its sha256>.pth`` (the
OpenMMLab naming of released weights) holding ``state_dict`` (floating
tensors in fp16; no optimizer, no message hub, so that ``torch.load`` with
``weights_only=True`` reads it) and records its full sha256 in
``OUT_DIR/SHA256SUMS`` (``sha256sum -c`` format), replacing an older line of
the same NAME.
"""
import hashlib
import io
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402

from projects.rcm_mam.utils.cli import doc_parser, run  # noqa: E402
from projects.rcm_mam.utils.errors import InputError  # noqa: E402
from projects.rcm_mam.utils.file_io import atomic_write  # noqa: E402


def fp16_state_dict(path: str) -> dict:
    """The ``state_dict`` of a checkpoint, floating tensors in fp16."""
    if not osp.isfile(path):
        raise InputError(f'{path}: checkpoint not found. Fix: give the .pth '
                         'file that tools/train.py wrote.')
    state = torch.load(path, map_location='cpu', weights_only=False)
    state = state.get('state_dict', state)
    return {k: v.half() if v.is_floating_point() else v
            for k, v in state.items()}


def main() -> None:
    parser = doc_parser(__doc__)
    parser.add_argument('checkpoint')
    parser.add_argument('out_dir')
    parser.add_argument('--name', required=True,
                        help='file name stem, e.g. resnet18-w32_parts64')
    args = parser.parse_args()
    buffer = io.BytesIO()
    torch.save(dict(state_dict=fp16_state_dict(args.checkpoint)), buffer)
    data = buffer.getvalue()
    sha256 = hashlib.sha256(data).hexdigest()
    filename = f'{args.name}-{sha256[:8]}.pth'
    atomic_write(osp.join(args.out_dir, filename),
                 lambda tmp: open(tmp, 'wb').write(data))
    sums = osp.join(args.out_dir, 'SHA256SUMS')
    lines = open(sums).read().splitlines() if osp.isfile(sums) else []
    lines = [line for line in lines
             if not line.split()[-1].startswith(args.name + '-')]
    lines.append(f'{sha256}  {filename}')
    atomic_write(sums, lambda tmp: open(tmp, 'w').write(
        '\n'.join(sorted(lines, key=lambda x: x.split()[-1])) + '\n'))
    print(f'{osp.join(args.out_dir, filename)} ({len(data) / 2**20:.1f} MiB)'
          f'\nsha256 {sha256}')


if __name__ == '__main__':
    run(main)
