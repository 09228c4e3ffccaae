"""Publish a trained checkpoint: weights only, fp16, named by its sha256.

    python tools/publish_checkpoint.py CHECKPOINT OUT_DIR --name NAME

writes ``OUT_DIR/NAME-<first 8 hex digits of its sha256>.pth`` (the
OpenMMLab naming of released weights) holding ``state_dict`` (floating
tensors in fp16) and the training set's ``meta.dataset_meta`` (class
names and palette, which mmseg's ``init_model`` reads); no optimizer, no
message hub, so that ``torch.load`` with ``weights_only=True`` reads it.
It records its full sha256 in
``OUT_DIR/SHA256SUMS`` (``sha256sum -c`` format). An earlier file of the
same NAME is replaced: its line and its file go.
"""
import argparse
import hashlib
import io
import os
import os.path as osp
import re
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402
from mmengine.runner import CheckpointLoader  # noqa: E402

from projects.rcm_mam.utils.checkpoint import \
    use_trusted_checkpoints  # noqa: E402
from projects.rcm_mam.utils.cli import run  # noqa: E402
from projects.rcm_mam.utils.file_io import atomic_write, save_lines  # noqa


def published(path: str) -> dict:
    """The ``state_dict`` of a checkpoint, floating tensors in fp16, and
    its ``meta.dataset_meta`` if it has one."""
    checkpoint = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint)
    content = dict(state_dict={k: v.half() if v.is_floating_point() else v
                               for k, v in state.items()})
    meta = checkpoint.get('meta', {}).get('dataset_meta')
    if meta:
        content['meta'] = dict(dataset_meta=meta)
    return content


def record(out_dir: str, name: str, filename: str, sha256: str) -> None:
    """Put ``filename``'s line into OUT_DIR/SHA256SUMS instead of an earlier
    file of ``name`` (whose file is removed)."""
    sums = osp.join(out_dir, 'SHA256SUMS')
    lines = open(sums).read().split('\n') if osp.isfile(sums) else []
    earlier = re.compile(rf'{re.escape(name)}-[0-9a-f]{{8}}\.pth')
    kept = []
    for line in filter(None, lines):
        old = line.split()[-1]
        if not earlier.fullmatch(old):
            kept.append(line)
        elif old != filename and osp.isfile(osp.join(out_dir, old)):
            os.remove(osp.join(out_dir, old))
    save_lines(sorted(kept + [f'{sha256}  {filename}'],
                      key=lambda x: x.split()[-1]), sums)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint')
    parser.add_argument('out_dir')
    parser.add_argument('--name', required=True,
                        help='file name stem, e.g. resnet18-w32_parts64')
    args = parser.parse_args()
    use_trusted_checkpoints()
    publish(published(args.checkpoint), args.out_dir, args.name)


def publish(content: dict, out_dir: str, name: str) -> str:
    """Write ``content`` as OUT_DIR/NAME-<sha256[:8]>.pth, record it in
    OUT_DIR/SHA256SUMS and print its path, size and sha256; its path."""
    buffer = io.BytesIO()
    torch.save(content, buffer)
    data = buffer.getvalue()
    sha256 = hashlib.sha256(data).hexdigest()
    filename = f'{name}-{sha256[:8]}.pth'
    os.makedirs(out_dir, exist_ok=True)
    path = osp.join(out_dir, filename)
    atomic_write(path, lambda tmp: open(tmp, 'wb').write(data))
    record(out_dir, name, filename, sha256)
    print(f'{path} ({len(data) / 2**20:.1f} MiB)\nsha256 {sha256}')
    return path


if __name__ == '__main__':
    run(main)
