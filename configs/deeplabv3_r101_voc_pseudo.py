# Stage 2: MMSegmentation's DeepLabV3 (ResNet-101, ImageNet init) trained on
# train_aug with the pseudo masks of stage 1, evaluated on val with the real
# ground truth (mmseg's IoUMetric). Everything but the training masks is
# mmseg's own VOC config (512x512 crops, 20k iterations, batch 4 per GPU:
# 4 GPUs as in mmseg's deeplabv3_r101-d8_4xb4-20k_voc12aug config).
_base_ = [
    'mmseg::_base_/models/deeplabv3_r50-d8.py',
    'mmseg::_base_/datasets/pascal_voc12.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py'
]
custom_imports = dict(imports=['projects.rcm_mam'], allow_failed_imports=False)
# Written by the PseudoLabelHook of configs/rcm_mam_r50_voc_authors_tuned.py
# (run from the repository root); point it elsewhere with --cfg-options
# train_dataloader.dataset.data_prefix.seg_map_path=DIR
pseudo_label_dir = '{{ fileDirname }}/../work_dirs/' \
    'rcm_mam_r50_voc_authors_tuned/pseudo_labels'
crop_size = (512, 512)
# the total batch, 4 GPUs x 4 (tools/run_pipeline.py --gpus N splits it)
auto_scale_lr = dict(enable=False, base_batch_size=16)
# checkpoints written atomically (utils.file_io.AtomicLocalBackend)
default_hooks = dict(
    checkpoint=dict(backend_args=dict(backend='atomic_local')))
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    decode_head=dict(num_classes=21),
    auxiliary_head=dict(num_classes=21))
# mmseg's VOC pipelines, with images read in their stored orientation (as
# the pseudo masks are written and VOC's masks drawn), not EXIF-rotated.
load_image = dict(type='LoadImageFromFile',
                  color_type='color_ignore_orientation')
train_pipeline = [
    load_image,
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    load_image,
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    dataset=dict(
        type='PseudoMaskVOCDataset',  # refuses an unfinished mask folder
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path=pseudo_label_dir),
        pipeline=train_pipeline))
# mmseg's VOC val set, its files checked when it is built
val_dataloader = dict(
    dataset=dict(type='CheckedVOCDataset', pipeline=test_pipeline))
test_dataloader = val_dataloader
