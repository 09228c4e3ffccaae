# MainSupportCAMNet with RCM + MAM on MS COCO 2014 train (82,081 images, 80
# classes), on the IRN-family COCO schedule (_base_/schedules/
# schedule_cam_coco_5e.py), otherwise the VOC config's model and losses.
# Batch 16 in total: 1 GPU x 16 (as here), or 8 GPUs x 2 with
#   bash tools/dist_train.sh configs/rcm_mam_r50_coco.py 8 \
#       --cfg-options train_dataloader.batch_size=2
_base_ = [
    './_base_/models/main_support_cam_r50.py',
    './_base_/datasets/coco2014_image_label.py',
    './_base_/default_runtime.py', './_base_/schedules/schedule_cam_coco_5e.py'
]
# test scales (0.5, 1, 1.5, 2) + flip: the VOC config's and IRN-family
# COCO code's; COCO images (at most 640 px) are under max_long_side
model = dict(
    data_preprocessor=dict(size={{_base_.crop_size}}),
    main_net=dict(num_classes=80))
# After training, the pseudo masks of all of `train` with dense CRF go to
# WORK_DIR/pseudo_labels (stage 2's default input), scored on the seeds'
# subset. cam_r50_coco.py does not run it after training;
# tools/make_pseudo_labels.py takes these settings for it.
pseudo_label_hook = dict(
    type='PseudoLabelHook',
    ann_file='ImageSets/Segmentation/train.txt',
    eval_ann_file='ImageSets/Segmentation/train_subset.txt',
    crf=dict())
custom_hooks = [dict(type='SupportNetHook'), pseudo_label_hook]
