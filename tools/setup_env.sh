#!/usr/bin/env bash
# Build (or reuse) the project's virtual environment and install the pinned
# stack of requirements.txt into it. Idempotent: a second run with unchanged
# requirements returns in about a second.
#
#   bash tools/setup_env.sh            # creates ./.venv
#
# Environment variables:
#   RCM_MAM_VENV         where the venv lives (default: <repo>/.venv)
#   RCM_MAM_WHEEL_CACHE  where the compiled mmcv wheel is kept
#                        (default: ~/.cache/rcm-mam/wheels)
#   RCM_MAM_EXTRA_WHEELS folder of prebuilt wheels to try first (default:
#                        <repo>/../shared/wheels when present; empty: none)
#   PYTHON               interpreter for the venv (default: python3, 3.8-3.11)
#   FORCE_CUDA=1         build mmcv's CUDA ops too (needs nvcc; done
#                        automatically when a GPU is visible)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${RCM_MAM_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
REQ=$ROOT/requirements.txt
STAMP=$VENV/.rcm_mam_installed

want=$(cat "$REQ" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
if [[ -f $STAMP && $(cat "$STAMP") == "$want" ]]; then
    echo "[setup_env] $VENV is up to date"
    exit 0
fi

pin() {  # the requirement line of package $1 in requirements.txt
    grep -E "^$1([=<>!~ ]|$)" "$REQ" | head -n 1
}

start=$(date +%s)
[[ -x $VENV/bin/python ]] || "$PYTHON" -m venv "$VENV"
pip() {  # quiet pip, minus warnings about unreachable extra index folders
    "$VENV/bin/python" -m pip "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
}
pip install -q --upgrade pip
pip install -q "$(pin setuptools)" wheel ninja "$(pin numpy)"
echo "[setup_env] installing $(pin torch) $(pin torchvision)"
pip install -q "$(pin torch)" "$(pin torchvision)"

# mmcv has no wheels for this torch: build it once from source with its
# compiled ops, keep the wheel in a cache keyed by the torch version, and
# install from that cache afterwards.
torch_version=$("$VENV/bin/python" -c 'import torch; print(torch.__version__)')
cuda_tag=cpu
if [[ ${FORCE_CUDA:-0} == 1 ]] || "$VENV/bin/python" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
    cuda_tag=cuda
fi
CACHE=${RCM_MAM_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rcm-mam/wheels}/torch-$torch_version-$cuda_tag
mkdir -p "$CACHE"
links=(--find-links "$CACHE")
# A wheel built for this torch on this machine kind may be shared beside the
# checkout (CPU ops only, so not used for CUDA builds).
extra=${RCM_MAM_EXTRA_WHEELS-$ROOT/../shared/wheels}
if [[ $cuda_tag == cpu && -n $extra && -d $extra ]]; then
    links+=(--find-links "$extra")
fi
mmcv=$(pin mmcv)
if ! pip install -q --no-index --no-deps "${links[@]}" "$mmcv" 2>/dev/null; then
    echo "[setup_env] building $mmcv from source with ops (10-25 min on 2 cores)"
    MMCV_WITH_OPS=1 pip wheel --no-build-isolation --no-deps --no-cache-dir \
        -w "$CACHE" "$mmcv"
    pip install -q --no-index --no-deps --find-links "$CACHE" "$mmcv"
fi

echo "[setup_env] installing the rest of requirements.txt"
pip install -q -r "$REQ" "${links[@]}"
pip check
"$VENV/bin/python" -c 'import mmcv.ops, mmseg, mmseg.models, mmseg.datasets, mmpretrain, mmpretrain.models, pydensecrf.densecrf, pycocotools.mask, cv2; print("[setup_env] imports ok: mmcv", mmcv.__version__, "mmseg", mmseg.__version__, "mmpretrain", mmpretrain.__version__)'
echo "$want" > "$STAMP"
echo "[setup_env] done in $(( $(date +%s) - start )) s: activate with 'source $VENV/bin/activate'"
