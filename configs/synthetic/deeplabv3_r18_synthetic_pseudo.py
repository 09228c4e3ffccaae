# Stage 2 on the synthetic set, sized for a 2-core CPU: the VOC stage-2
# config with the backbone of the synthetic stage 1 (mmpretrain's ResNet-18
# at half width, pretrained on Parts-64, as VOC's stage 2 starts from
# ImageNet weights) at output stride 16 (last stage dilated instead of
# strided; mmseg's VOC config uses 8), BN (SyncBN needs GPUs), 160 px
# crops, no test-time resize, and AdamW (chosen in the random-init regime:
# docs/random_init_regime.md, "Synthetic recipe") for 1,600 iterations.
_base_ = [
    '../deeplabv3_r101_voc_pseudo.py',
    '../_base_/models/resnet18_w32_parts64.py'
]
data_root = 'data/synthetic_voc/VOCdevkit/VOC2012'
pseudo_label_dir = '{{ fileDirname }}/../../work_dirs/' \
    'rcm_mam_r18_synthetic_authors_tuned/pseudo_labels'
crop_size = (160, 160)
auto_scale_lr = dict(base_batch_size=8)  # 1 x 8
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='mmpretrain.ResNet',
        depth=18,
        stem_channels=32,
        base_channels=32,
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        out_indices=(0, 1, 2, 3),
        norm_cfg=norm_cfg,
        init_cfg={{_base_.parts64_init}}),
    decode_head=dict(
        in_channels=256, channels=128, dilations=(1, 6, 12, 18),
        norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=128, channels=64, norm_cfg=norm_cfg))
train_pipeline = [
    {{_base_.load_image}},
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(1024, 160),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    {{_base_.load_image}},
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        data_prefix=dict(seg_map_path=pseudo_label_dir),
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-3, weight_decay=1e-4))
# val's choice among AdamW and mmseg's SGD at 800 and 1,600 iterations in
# the pretrained regime (benchmarks/stage2_recipe.py, docs/synthetic.md)
max_iters = 1600
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=20), checkpoint=dict(interval=400))
randomness = dict(seed=0)
