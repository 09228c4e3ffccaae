#!/usr/bin/env bash
# The GPU check: does the project work on a CUDA node, and how fast is it?
# One job of at most about 8 minutes (README, "GPU check"):
#
#   bash benchmarks/gpu/check.sh OUT_DIR            # on the GPU node
#   bash benchmarks/gpu/check.sh --dry-run OUT_DIR  # tiny sizes on CPU (CI)
#
# Installs the wheels that benchmarks/gpu/prepare.sh made into OUT_DIR/site
# (no network), makes a synthetic VOC-format set at VOC's image scale and
# runs the VOC configs from random init (ImageNet weights cannot be fetched
# offline): stage-1 training (plain CAM and RCM + MAM, fp32 and --amp), RCM +
# MAM through dist_train.sh (NCCL), the authors' RCM + MAM on ResNet-38d,
# pseudo labels without and with dense CRF
# and their forward bounds, tools/test.py on the CAM checkpoint, IRN's
# confident labels, boundary network and random walk, stage-2
# DeepLabV3-R101 (fp32 and --amp). Every step has a timeout and a fixed
# size; a failing step is recorded and the others still run; steps that the
# job's budget no longer fits are skipped and said so. Figures:
# OUT_DIR/gpu_check.{json,md} (benchmarks/gpu/summarise.py); logs:
# OUT_DIR/logs/STEP.log and the runs' own in OUT_DIR/runs/STEP/.
#
# Environment variables:
#   PYTHON               interpreter with torch (default: python3)
#   RCM_MAM_GPU_WHEELS   the wheels (default: benchmarks/gpu/wheels; a dry run
#                        without them uses PYTHON's own packages)
#   RCM_MAM_GPU_BUDGET   seconds for all steps (default: 480; dry run: 3600)
# shellcheck disable=SC2046  # $(schedule N) gives plain KEY=VALUE words
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DRY=0
if [[ ${1:-} == --dry-run ]]; then
    DRY=1
    shift
fi
if [[ $# != 1 ]]; then
    echo "usage: bash benchmarks/gpu/check.sh [--dry-run] OUT_DIR" >&2
    exit 2
fi
if [[ -d $1 && -n $(ls -A "$1") ]]; then
    echo "error: $1 is not empty. Fix: give a new folder (every run of the" \
        "check starts afresh)." >&2
    exit 2
fi
mkdir -p "$1/logs" "$1/runs" && OUT=$(cd "$1" && pwd)
RUNS=$OUT/runs
PY=${PYTHON:-python3}
WHEELS=${RCM_MAM_GPU_WHEELS:-$ROOT/benchmarks/gpu/wheels}
BUDGET=${RCM_MAM_GPU_BUDGET:-$(( DRY ? 3600 : 480 ))}
START=$(date +%s)

# --- sizes: fixed, so that every run of the check measures the same -------
if (( DRY )); then
    SCALE=0.5 NUM_IMAGES=(--num-train 4 --num-val 2 --num-aug 2)
    CAM_ITERS=3 RCM_ITERS=2 DIST_ITERS=2 STAGE2_ITERS=2 WARMUP=1 R38_ITERS=2
    PSEUDO_IMAGES=2 CRF_IMAGES=2 TEST_IMAGES=2 HOOK_IMAGES=2 IRN_ITERS=2
    # CPU-sized runs: batch 2, crops of 64 px (stage 2: 32), no data workers
    NO_WORKERS=(train_dataloader.num_workers=0
                train_dataloader.persistent_workers=False)
    STAGE1_SIZE=("${NO_WORKERS[@]}" train_dataloader.batch_size=2
                 'train_dataloader.dataset.pipeline.1.scale=(96,96)'
                 'train_dataloader.dataset.pipeline.5.crop_size=(64,64)'
                 'model.data_preprocessor.size=(64,64)'
                 test_dataloader.num_workers=0
                 test_dataloader.persistent_workers=False)
    STAGE2_SIZE=("${NO_WORKERS[@]}" train_dataloader.batch_size=2
                 'train_dataloader.dataset.pipeline.2.scale=(128,32)'
                 'train_dataloader.dataset.pipeline.3.crop_size=(32,32)'
                 'model.data_preprocessor.size=(32,32)')
    IRN_SIZE=("${NO_WORKERS[@]}" train_dataloader.batch_size=2
              'train_dataloader.dataset.pipeline.3.crop_size=(64,64)'
              'model.data_preprocessor.size=(64,64)'
              custom_hooks.0.num_workers=0)
    REQUIRE_CUDA=()
else
    # a long side of 390-500 px, as VOC's; train_aug 250, val 50
    SCALE=1.95 NUM_IMAGES=(--num-train 100 --num-val 50 --num-aug 150)
    CAM_ITERS=50 RCM_ITERS=30 DIST_ITERS=10 STAGE2_ITERS=40 WARMUP=10
    # the paper's ResNet-38d (105 M parameters) under the authors' recipe
    R38_ITERS=10
    # dense CRF takes 0.3 to 0.9 s an image on one core
    PSEUDO_IMAGES=100 CRF_IMAGES=50 TEST_IMAGES=20 HOOK_IMAGES=8
    # IRN's boundary network at its batch (32) and crop (512)
    IRN_ITERS=10
    STAGE1_SIZE=() STAGE2_SIZE=() IRN_SIZE=()
    REQUIRE_CUDA=(--require-cuda)
fi
cat > "$OUT/check.json" << EOF
{"dry_run": $( ((DRY)) && echo true || echo false), "warmup_iters": $WARMUP,
 "scale": $SCALE, "cam_iters": $CAM_ITERS, "rcm_mam_iters": $RCM_ITERS,
 "dist_iters": $DIST_ITERS, "stage2_iters": $STAGE2_ITERS,
 "pseudo_images": $PSEUDO_IMAGES, "crf_images": $CRF_IMAGES,
 "test_images": $TEST_IMAGES, "hook_images": $HOOK_IMAGES,
 "irn_iters": $IRN_ITERS, "r38_iters": $R38_ITERS, "budget_s": $BUDGET}
EOF
: > "$OUT/steps.jsonl"

# --- machinery --------------------------------------------------------------
record() {  # record KIND NAME STATUS RC SECONDS TIMEOUT NOTE
    printf '{"kind": "%s", "name": "%s", "status": "%s", "rc": %d, ' \
        "$1" "$2" "$3" "$4" >> "$OUT/steps.jsonl"
    printf '"seconds": %s, "timeout": %d, "note": "%s"}\n' "$5" "$6" "$7" \
        >> "$OUT/steps.jsonl"
    printf '[check] %-18s %-9s %6s s  %s\n' "$2" "$3" "$5" "$7"
}

step() {  # step KIND NAME TIMEOUT COMMAND...: run it from the repository;
    # its outcome in STATUS
    local kind=$1 name=$2 limit=$3 rc note=''
    shift 3
    (( DRY )) && limit=300  # a busy CI machine; hangs only
    local left=$(( BUDGET - $(date +%s) + START ))
    if (( left < limit )); then
        limit=$left
        note="timeout cut to ${left} s by the job budget"
    fi
    if (( limit < 10 )); then
        STATUS=skipped
        record "$kind" "$name" $STATUS 0 0 0 \
            "not run: the job budget of ${BUDGET} s is spent"
        return
    fi
    local t0 t1
    t0=$(date +%s.%N)
    {
        printf '$'
        printf ' %q' "$@"
        printf '\n'
    } > "$OUT/logs/$name.log"
    (cd "$ROOT" && timeout --kill-after=10 "$limit" "$@") \
        >> "$OUT/logs/$name.log" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    case $rc in
        0) STATUS=ok ;;
        124|137) STATUS='timed out' ;;
        *) STATUS=failed ;;
    esac
    record "$kind" "$name" "$STATUS" "$rc" \
        "$(awk "BEGIN {printf \"%.1f\", $t1 - $t0}")" "$limit" "$note"
}

cuda_step() {  # as step, but only on a GPU (AMP and NCCL need CUDA)
    if (( DRY )); then
        record "$1" "$2" skipped 0 0 0 'CUDA only: not run in the dry run'
    else
        step "$@"
    fi
}

schedule() {  # schedule ITERS [keep]: ITERS iterations, each logged, no
    # validation; a checkpoint at the end with keep, else none
    local n=$1
    echo "train_cfg.max_iters=$n train_cfg.val_begin=$(( n + 1 ))" \
        "default_hooks.logger.interval=1"
    if [[ ${2:-} == keep ]]; then
        echo "default_hooks.checkpoint.interval=$n"
    else
        echo "default_hooks.checkpoint.interval=$(( n + 1 ))" \
            "default_hooks.checkpoint.save_last=False"
    fi
}

# --- the stack --------------------------------------------------------------
if [[ -d $WHEELS ]]; then
    step install install 120 "$PY" -m pip install --no-index --no-deps \
        --upgrade --target "$OUT/site" "$WHEELS"/*.whl
    export PYTHONPATH=$OUT/site${PYTHONPATH:+:$PYTHONPATH}
elif (( DRY )); then
    record install install skipped 0 0 0 \
        "no wheels folder: the packages of $PY are used"
else
    echo "error: $WHEELS not found. Fix: run bash benchmarks/gpu/prepare.sh" \
        "on a machine with network and bring the folder along." >&2
    exit 2
fi
step environment environment 60 "$PY" benchmarks/gpu/environment.py \
    "$RUNS/environment.json" "${REQUIRE_CUDA[@]}"
if (( ! DRY )) && [[ $STATUS != ok ]]; then
    echo "error: the stack does not import or sees no GPU: see" \
        "$OUT/logs/environment.log" >&2
    "$PY" benchmarks/gpu/summarise.py "$OUT"
    exit 1
fi

# --- the steps --------------------------------------------------------------
VOC=$OUT/data/VOCdevkit/VOC2012
DATA=("train_dataloader.dataset.data_root=$VOC"
      "val_dataloader.dataset.data_root=$VOC"
      "test_dataloader.dataset.data_root=$VOC")
# stage 1: random init, seed 0; the RCM + MAM config's pseudo-label hook on
# HOOK_IMAGES images of train_aug
S1=("${DATA[@]}" randomness.seed=0 model.main_net.backbone.init_cfg=None
    "test_dataloader.dataset.indices=$HOOK_IMAGES" "${STAGE1_SIZE[@]}")
# a random-init SupportNet recognises no class, so the configs' guard
# (skip_missed) would leave RCM and MAM no pixel to compute with: off here
S1_RCM_MAM=("${S1[@]}" model.rcm_loss.skip_missed=None
            model.mam_loss.skip_missed=None)
CKPT=$RUNS/cam_fp32/iter_$CAM_ITERS.pth
TOOL=("${DATA[@]}" model.main_net.backbone.init_cfg=None
      "${STAGE1_SIZE[@]}")
# stage 2: on the pseudo masks of the first PSEUDO_IMAGES images
MASKS=$RUNS/pseudo_labels/pseudo_labels
S2=("${DATA[@]}" randomness.seed=0 model.pretrained=None
    "train_dataloader.dataset.indices=$PSEUDO_IMAGES"
    "train_dataloader.dataset.data_prefix.seg_map_path=$MASKS"
    "${STAGE2_SIZE[@]}")
# IRN: confident labels of PSEUDO_IMAGES images of train_aug, its boundary
# network trained on them, its walk on HOOK_IMAGES images
LABELS=$RUNS/confident_labels/ir_labels
IRN=("train_dataloader.dataset.data_root=$VOC" randomness.seed=0
     model.backbone.init_cfg=None
     "train_dataloader.dataset.indices=$PSEUDO_IMAGES"
     "train_dataloader.dataset.data_prefix.seg_map_path=$LABELS"
     "walk_dataset.data_root=$VOC" "walk_dataset.indices=$HOOK_IMAGES"
     "custom_hooks.0.cam_dir=$LABELS" "${IRN_SIZE[@]}")
CAM=configs/cam_r50_voc.py
RCM_MAM=configs/rcm_mam_r50_voc.py
STAGE2=configs/deeplabv3_r101_voc_pseudo.py

step data data 120 "$PY" tools/dataset_converters/make_synthetic_voc.py \
    --out "$OUT/data" --scale "$SCALE" "${NUM_IMAGES[@]}" --workers "$(nproc)"
step train cam_fp32 75 "$PY" tools/train.py $CAM \
    --work-dir "$RUNS/cam_fp32" --cfg-options "${S1[@]}" \
    $(schedule $CAM_ITERS keep)
cuda_step train cam_amp 60 "$PY" tools/train.py $CAM --amp \
    --work-dir "$RUNS/cam_amp" --cfg-options "${S1[@]}" \
    $(schedule $CAM_ITERS)
step train rcm_mam_fp32 90 "$PY" tools/train.py $RCM_MAM \
    --work-dir "$RUNS/rcm_mam_fp32" --cfg-options "${S1_RCM_MAM[@]}" \
    $(schedule $RCM_ITERS)
cuda_step train rcm_mam_amp 75 "$PY" tools/train.py $RCM_MAM --amp \
    --work-dir "$RUNS/rcm_mam_amp" --cfg-options "${S1_RCM_MAM[@]}" \
    $(schedule $RCM_ITERS)
cuda_step train rcm_mam_nccl 90 env PYTHON="$PY" bash tools/dist_train.sh \
    $RCM_MAM 1 --work-dir "$RUNS/rcm_mam_nccl" \
    --cfg-options "${S1_RCM_MAM[@]}" \
    $(schedule $DIST_ITERS)
step train r38_fp32 100 "$PY" tools/train.py configs/rcm_mam_r38_voc_authors.py \
    --work-dir "$RUNS/r38_fp32" --cfg-options "${S1[@]}" \
    $(schedule $R38_ITERS)
step bound forward_bound 60 "$PY" benchmarks/pseudo_label_speed.py \
    --config $CAM --data-root "$VOC" --images $PSEUDO_IMAGES \
    --forward-only --out "$RUNS/forward_bound/bounds.json" \
    --cfg-options model.main_net.backbone.init_cfg=None
step pseudo pseudo_labels 60 "$PY" tools/make_pseudo_labels.py $CAM \
    "$CKPT" --no-crf --work-dir "$RUNS/pseudo_labels" --cfg-options \
    "${TOOL[@]}" "test_dataloader.dataset.indices=$PSEUDO_IMAGES"
step pseudo pseudo_labels_crf 90 "$PY" tools/make_pseudo_labels.py $CAM \
    "$CKPT" --crf --work-dir "$RUNS/pseudo_labels_crf" --cfg-options \
    "${TOOL[@]}" "test_dataloader.dataset.indices=$CRF_IMAGES"
step test test_cam 90 "$PY" tools/test.py $CAM "$CKPT" \
    --work-dir "$RUNS/test_cam" --cfg-options "${TOOL[@]}" \
    "test_dataloader.dataset.indices=$TEST_IMAGES"
step confident confident_labels 60 "$PY" tools/make_pseudo_labels.py $CAM \
    "$CKPT" --confident --work-dir "$RUNS/confident_labels" --cfg-options \
    "${TOOL[@]}" "test_dataloader.dataset.indices=$PSEUDO_IMAGES"
step train irn_fp32 60 "$PY" tools/train.py configs/irn_r50_voc.py \
    --work-dir "$RUNS/irn_fp32" --cfg-options "${IRN[@]}" \
    $(schedule $IRN_ITERS)
step train stage2_fp32 75 "$PY" tools/train.py $STAGE2 \
    --work-dir "$RUNS/stage2_fp32" --cfg-options "${S2[@]}" \
    $(schedule $STAGE2_ITERS)
cuda_step train stage2_amp 60 "$PY" tools/train.py $STAGE2 --amp \
    --work-dir "$RUNS/stage2_amp" --cfg-options "${S2[@]}" \
    $(schedule $STAGE2_ITERS)

"$PY" benchmarks/gpu/summarise.py "$OUT" || exit 1
! grep -q -e '"failed"' -e '"timed out"' "$OUT/steps.jsonl"
