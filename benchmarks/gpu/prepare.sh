#!/usr/bin/env bash
# Make the wheels benchmarks/gpu/check.sh installs on the GPU node, on a
# machine with network, and dry-run the check with them first:
#
#   bash benchmarks/gpu/prepare.sh
#
# The node runs CPython 3.12 on x86-64 with torch 2.11.0+cu130 and a few
# packages preinstalled (NODE below) and has no network; benchmarks/gpu/wheels
# gets every wheel the project needs beyond those: mmcv 2.1.0 compiled
# against torch 2.11.0 with its CPU ops (nothing the project runs calls an
# mmcv op: the dry run passes with ops that all raise; mmseg imports them),
# mmengine, mmsegmentation, mmpretrain, their remaining pure-Python
# dependencies, setuptools<81 (mmengine needs pkg_resources) and pydensecrf2.
# Not numpy<2: the stack runs on the node's numpy 2 (its one failure there,
# mmcv 2.1.0's hue jitter, is mended in projects/rcm_mam/utils/hue_shift.py),
# and numpy 1 would break the node's scipy built for numpy 2 (and scipy's
# wheel is over the upload cap). mmcv has no wheel for this torch: it is
# built from source once (about 33 min on 2 cores), as tools/setup_env.sh
# does and in the same cache keyed by the torch version, and its extension's
# debug symbols are stripped for the folder (32 MB -> about 1.5 MB). The
# node-like environment (Python 3.12, torch 2.11.0 and NODE; a 4 GB download
# the first time) is kept and stamped, so a second run is quick. Last, it
# runs check.sh --dry-run in that environment with the wheels installed as
# the node installs them (in work_dirs/gpu_prepare_dry_run/): the stack the
# node will run, numpy 2 included, is tested before any GPU time is spent.
#
# Environment variables:
#   PYTHON312            Python 3.12 (default: python3.12 if it runs, else
#                        pyenv's 3.12)
#   RCM_MAM_GPU_WHEELS   the wheels folder (default: benchmarks/gpu/wheels)
#   RCM_MAM_GPU_VENV     the node-like environment (default:
#                        ~/.cache/rcm-mam/gpu-node-py3.12-torch-2.11.0)
#   RCM_MAM_WHEEL_CACHE  the compiled mmcv's cache, as for tools/setup_env.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
REQ=$ROOT/requirements.txt
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/rcm-mam
TORCH=2.11.0
# What the node has preinstalled, as pip installs it there
NODE=("torch==$TORCH" torchvision==0.26.0 'numpy>=2,<3' scipy matplotlib
      pyyaml regex rich opencv-python-headless)
# The project's stack as requirements.txt pins it; of it and its dependencies
# the wheels folder gets what the node lacks, less NOT_COLLECTED: mmcv, built
# here, and opencv-python, which mmengine's metadata asks for and the node's
# opencv-python-headless provides
STACK=(mmengine mmcv mmsegmentation ftfy mmpretrain pydensecrf2)
NOT_COLLECTED=(mmcv opencv-python)
# ... and these pins, which shadow the node's own versions
SHADOW=(setuptools)
WHEELS=${RCM_MAM_GPU_WHEELS:-$ROOT/benchmarks/gpu/wheels}
VENV=${RCM_MAM_GPU_VENV:-$CACHE_ROOT/gpu-node-py3.12-torch-$TORCH}
DRY_OUT=$ROOT/work_dirs/gpu_prepare_dry_run
start=$(date +%s)

pins() {  # the requirement lines of packages "$@" in requirements.txt
    local name
    for name; do
        grep -m 1 -E "^$name([=<>!~ ]|$)" "$REQ"
    done
}
pip() {  # the environment's pip, minus warnings about absent index folders
    "$VENV/bin/python" -m pip "$@" \
        2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
}
python312() {  # an interpreter that is Python 3.12
    local candidate
    for candidate in "${PYTHON312:-}" python3.12 \
            "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12; do
        if [[ -n $candidate ]] && "$candidate" -c \
                'import sys; assert sys.version_info[:2] == (3, 12)' \
                2> /dev/null; then
            echo "$candidate"
            return
        fi
    done
    echo 'error: no Python 3.12 found. Fix: install it (pyenv install' \
        '3.12) or set PYTHON312.' >&2
    return 1
}

# 1. The node-like environment, plus what mmcv's setup.py needs to build in
#    it (no build isolation: it compiles against the environment's torch).
build_tools=("$(pins setuptools)" wheel ninja)
want=$(printf '%s\n' "${NODE[@]}" "${build_tools[@]}" | sha256sum | cut -c1-16)
if [[ ! -f $VENV/.rcm_mam_node || $(cat "$VENV/.rcm_mam_node") != "$want" ]]
then
    echo "[prepare] node-like environment in $VENV: ${NODE[*]}"
    rm -rf "$VENV"
    "$(python312)" -m venv "$VENV"
    pip install -q --upgrade pip
    pip install -q "${NODE[@]}"
    pip install -q "${build_tools[@]}"
    echo "$want" > "$VENV/.rcm_mam_node"
fi
torch_version=$("$VENV/bin/python" -c 'import torch; print(torch.__version__)')

# 2. mmcv, compiled once with its CPU ops (CUDA hidden, whatever the machine)
CACHE=${RCM_MAM_WHEEL_CACHE:-$CACHE_ROOT/wheels}/torch-$torch_version-cpu
mmcv=$(pins mmcv)
mkdir -p "$CACHE"
if ! compgen -G "$CACHE/mmcv-${mmcv#mmcv==}-cp312-*.whl" > /dev/null; then
    echo "[prepare] building $mmcv for Python 3.12 / torch $torch_version" \
        "from source with its CPU ops (about 33 min on 2 cores)"
    CUDA_VISIBLE_DEVICES='' MMCV_WITH_OPS=1 pip wheel --no-build-isolation \
        --no-deps --no-cache-dir -w "$CACHE" "$mmcv"
fi

# 3. The wheels folder, made anew: mmcv stripped, the distributions pip would
#    add to the node's packages for the stack, and SHADOW
new=$WHEELS.new
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$new"' EXIT
rm -rf "$new"
mkdir -p "$new"
"$VENV/bin/python" -m wheel unpack -d "$tmp/mmcv" \
    "$(compgen -G "$CACHE/mmcv-${mmcv#mmcv==}-cp312-*.whl" | head -n 1)" \
    > /dev/null
find "$tmp/mmcv" -name '*.so' -exec strip --strip-debug {} +
"$VENV/bin/python" -m wheel pack -d "$new" "$tmp"/mmcv/* > /dev/null
# shellcheck disable=SC2046  # pins gives one requirement per line
pip install -q --dry-run --report "$tmp/report.json" --find-links "$CACHE" \
    $(pins "${SHADOW[@]}" "${STACK[@]}")
collect=$("$VENV/bin/python" - "$tmp/report.json" "${NOT_COLLECTED[@]}" \
          "${SHADOW[@]}" <<'EOF'
import json
import re
import sys
from importlib.metadata import distributions


def normal(name):  # PEP 503
    return re.sub(r'[-_.]+', '-', name).lower()


skip = {normal(d.metadata['Name']) for d in distributions()}  # the node's
skip.update(normal(name) for name in sys.argv[2:])
for item in json.load(open(sys.argv[1]))['install']:
    meta = item['metadata']
    if normal(meta['name']) not in skip:
        print(f"{meta['name']}=={meta['version']}")
EOF
)
# shellcheck disable=SC2086  # one requirement per word
set -- $collect $(pins "${SHADOW[@]}")
echo "[prepare] collecting $*"
pip wheel -q --no-deps -w "$new" "$@"
rm -rf "$WHEELS"
mv "$new" "$WHEELS"
size=$(du -sb "$WHEELS" | cut -f 1)
repo=$(git -C "$ROOT" ls-files -z | (cd "$ROOT" && xargs -0 stat -c %s) |
       awk '{s += $1} END {print s}')
echo "[prepare] $WHEELS: $(ls "$WHEELS" | wc -l) wheels," \
    "$(( size / 1024 )) KiB; with the repository's files," \
    "$(( (size + repo) / 1000000 )) MB to bring to the node (cap: about 60)"
if (( size + repo > 60000000 )); then
    echo '[prepare] warning: more than the node takes' >&2
fi

# 4. The dry run, on the node's stack
echo "[prepare] check.sh --dry-run with these wheels in $VENV -> $DRY_OUT"
rm -rf "$DRY_OUT"
PYTHON=$VENV/bin/python RCM_MAM_GPU_WHEELS=$WHEELS \
    bash "$ROOT/benchmarks/gpu/check.sh" --dry-run "$DRY_OUT"
echo "[prepare] done in $(( $(date +%s) - start )) s: bring the repository" \
    "with $WHEELS to the node and run" \
    "bash benchmarks/gpu/check.sh OUT_DIR there"
