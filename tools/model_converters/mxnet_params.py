"""Read MXNet 1.x ``.params`` files (``mx.nd.save``) without MXNet.

The layout, from MXNet's ``src/ndarray/ndarray.cc`` (``NDArray::Save`` /
``Load``, ``LegacyLoad``) and dmlc-core's serializer, little-endian: a
uint64 list magic 0x112 and a uint64 reserved word; a uint64 array count,
then each array; a uint64 name count, then each name as a uint64 length and
UTF-8 bytes. An array starts with a uint32: a version magic (V1 0xF993FAC8,
V2 0xF993FAC9, V3 0xF993FACA) or, in the legacy format, its ndim. V2 and V3
then hold an int32 storage type (0: dense; sparse arrays are refused). The
shape: legacy, uint32 dims; V1-V3, an int32 ndim and int64 dims. An empty
shape ends the record; else an int32 device type and id, an int32 dtype
flag, and the C-order data.
"""
import struct
from typing import BinaryIO, Dict

import numpy as np

LIST_MAGIC = 0x112
V1, V2, V3 = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
DTYPES = {0: np.float32, 1: np.float64, 2: np.float16, 3: np.uint8,
          4: np.int32, 5: np.int8, 6: np.int64}


class FormatError(ValueError):
    """Not an MXNet ``.params`` file, or one this reader does not cover."""


def is_mxnet_params(path: str) -> bool:
    """Whether the file starts with MXNet's list magic."""
    with open(path, 'rb') as f:
        head = f.read(8)
    return len(head) == 8 and struct.unpack('<Q', head)[0] == LIST_MAGIC


def read_mxnet_params(path: str) -> Dict[str, np.ndarray]:
    """The named arrays of an ``mx.nd.save`` file (``arg:``/``aux:``
    prefixes kept)."""
    with open(path, 'rb') as f:
        magic, _ = unpack(f, '<QQ')
        if magic != LIST_MAGIC:
            raise FormatError('not an MXNet .params file (no list magic)')
        arrays = [read_array(f) for _ in range(unpack(f, '<Q')[0])]
        names = [f.read(unpack(f, '<Q')[0]).decode('utf-8')
                 for _ in range(unpack(f, '<Q')[0])]
    if len(names) != len(arrays):
        raise FormatError(f'{len(arrays)} arrays but {len(names)} names')
    return dict(zip(names, arrays))


def read_array(f: BinaryIO) -> np.ndarray:
    """One dense NDArray record."""
    (head, ) = unpack(f, '<I')
    if head in (V2, V3) and unpack(f, '<i')[0] != 0:
        raise FormatError('a sparse array: only dense ones are read')
    if head in (V1, V2, V3):
        (ndim, ) = unpack(f, '<i')
        shape = unpack(f, f'<{max(ndim, 0)}q')
    else:  # legacy: the first word is ndim
        ndim = head
        shape = unpack(f, f'<{ndim}I')
    # V3 (NumPy semantics) has 0-d scalars; -1 marks an unknown shape
    if ndim < 0 or -1 in shape or (ndim == 0 and head != V3):
        return np.zeros(0, np.float32)  # an empty array
    _, _, flag = unpack(f, '<iii')  # device type and id, dtype
    if flag not in DTYPES:
        raise FormatError(f'dtype flag {flag} not read')
    count = int(np.prod(shape))
    data = np.frombuffer(f.read(count * np.dtype(DTYPES[flag]).itemsize),
                         DTYPES[flag])
    if data.size != count:
        raise FormatError('the file ends inside an array')
    return data.reshape(shape).copy()


def unpack(f: BinaryIO, layout: str) -> tuple:
    """``struct.unpack`` of the next bytes of ``f``."""
    size = struct.calcsize(layout)
    data = f.read(size)
    if len(data) != size:
        raise FormatError('the file ends early')
    return struct.unpack(layout, data)
