# PSA's AffinityNet on the synthetic set: the VOC config on the Parts-64
# ResNet-18 (half width) at output stride 8, at half VOC's image size
# (crop 224); train_aug's 400 images // 8 x 8 epochs = 400 iterations.
# Its labels: tools/make_pseudo_labels.py
# configs/synthetic/rcm_mam_r18_synthetic.py CKPT --confident psa.
_base_ = [
    '../affinitynet_r50_voc.py', '../_base_/models/resnet18_w32_parts64.py'
]
data_root = 'data/synthetic_voc/VOCdevkit/VOC2012'
psa_label_dir = '{{ fileDirname }}/../../work_dirs/' \
    'rcm_mam_r18_synthetic/psa_labels'
crop_size = (224, 224)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        depth=18,
        base_channels=32,
        stem_channels=32,
        init_cfg={{_base_.parts64_init}}),
    in_channels=(64, 128, 256))
train_pipeline = [
    {{_base_.load_image}},
    dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='mmpretrain.ColorJitter', brightness=0.3, contrast=0.3,
         saturation=0.3, hue=0.1),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        data_prefix=dict(seg_map_path=psa_label_dir),
        pipeline=train_pipeline))
walk_dataset = dict(data_root=data_root)
max_iters = 400
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=20), checkpoint=dict(interval=max_iters))
custom_hooks = [
    dict(type='RandomWalkLabelHook', cam_dir=psa_label_dir,
         out_dir='aff_labels')
]
