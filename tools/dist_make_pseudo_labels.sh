#!/usr/bin/env bash
# bash tools/dist_make_pseudo_labels.sh CONFIG CHECKPOINT GPUS [options]
# Each rank writes its share of the images; on CPU the ranks use gloo.
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
PORT=${PORT:-29500}
PYTHON=${PYTHON:-python}

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
"$PYTHON" -m torch.distributed.run \
    --nproc_per_node=$GPUS \
    --master_port=$PORT \
    "$(dirname "$0")/make_pseudo_labels.py" \
    "$CONFIG" \
    "$CHECKPOINT" \
    --launcher pytorch \
    "${@:4}"
