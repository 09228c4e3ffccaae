# MainSupportCAMNet with RCM + MAM on PASCAL VOC2012 train_aug.
# Batch 8 in total: 1 GPU x 8 (as here), or 8 GPUs x 1 with
#   bash tools/dist_train.sh configs/rcm_mam_r50_voc.py 8 \
#       --cfg-options train_dataloader.batch_size=1
# RCM's leave-one-out prototypes are gathered over all GPUs and MAM picks
# every second image of the global batch, so both splits train the same.
_base_ = [
    './_base_/models/main_support_cam_r50.py',
    './_base_/datasets/voc12aug_image_label.py',
    './_base_/default_runtime.py', './_base_/schedules/schedule_cam_40e.py'
]
# After training, write the pseudo masks of train_aug with dense CRF to
# WORK_DIR/pseudo_labels (stage 2's default input) and score those of train.
custom_hooks = [
    dict(type='SupportNetHook'),
    dict(type='PseudoLabelHook', crf=dict())
]
