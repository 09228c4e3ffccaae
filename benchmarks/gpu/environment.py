"""Record the stack and the device the GPU check runs on, as JSON.

    python benchmarks/gpu/environment.py OUT_JSON [--require-cuda]

Imports everything the project runs with (mmcv's compiled ops, mmseg,
mmpretrain, the project, dense CRF), writes their versions and where they
were loaded from, the CUDA device and NCCL, and exits 1 if an import failed
(2 with ``--require-cuda`` when no GPU is visible).
"""
import argparse
import importlib
import json
import os.path as osp
import platform
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

MODULES = ('numpy', 'cv2', 'mmengine', 'mmcv', 'mmcv.ops', 'mmseg',
           'mmseg.models', 'mmpretrain', 'mmpretrain.models',
           'pydensecrf.densecrf', 'projects.rcm_mam')


def describe() -> dict:
    """Versions, origins and the device; import errors as strings."""
    import torch
    record = dict(python=platform.python_version(), torch=torch.__version__,
                  torch_cuda=torch.version.cuda,
                  cuda_available=torch.cuda.is_available(), modules={})
    if record['cuda_available']:
        record.update(gpu=torch.cuda.get_device_name(0),
                      gpu_count=torch.cuda.device_count(),
                      gpu_memory_mib=torch.cuda.get_device_properties(
                          0).total_memory // 2**20,
                      nccl='.'.join(map(str, torch.cuda.nccl.version())))
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 (recorded, not raised)
            record['modules'][name] = dict(error=f'{type(e).__name__}: {e}')
            continue
        record['modules'][name] = dict(
            version=getattr(module, '__version__', None),
            path=getattr(module, '__file__', None))
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', help='JSON file to write')
    parser.add_argument('--require-cuda', action='store_true')
    args = parser.parse_args()
    record = describe()
    with open(args.out, 'w') as f:  # not file_io: the project may not import
        json.dump(record, f, indent=2)
    print(json.dumps(record, indent=2))
    if any('error' in m for m in record['modules'].values()):
        sys.exit(1)
    if args.require_cuda and not record['cuda_available']:
        print('error: no CUDA device is visible to torch', file=sys.stderr)
        sys.exit(2)


if __name__ == '__main__':
    main()
