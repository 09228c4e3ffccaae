# PSA's AffinityNet (Ahn and Kwak, CVPR 2018) on PASCAL VOC 2012 with PSA's
# settings (jiwoon-ahn/psa, train_aff.py and infer_aff.py) on a ResNet-50
# at output stride 8 (PSA's is ResNet-38d): three levels at stride 8, the
# backbone trained (its stem and first stage frozen, as PSA freezes
# conv1a-b2_2; BN frozen), crop 448, batch 8, 8 epochs of train_aug
# (10,582 // 8 x 8 = 10,576 iterations), SGD lr 0.1 (10x on the new
# layers) with poly decay, weight decay 5e-4 and momentum 0 (PSA's
# PolyOptimizer), colour jitter, flip; the walk with beta 8, 2^8 steps and
# the background (1 - max)^16. Its labels:
#   python tools/make_pseudo_labels.py configs/rcm_mam_r50_voc.py CKPT \
#       --confident psa --work-dir work_dirs/rcm_mam_r50_voc
_base_ = ['./irn_r50_voc.py']
psa_label_dir = '{{ fileDirname }}/../work_dirs/rcm_mam_r50_voc/psa_labels'
crop_size = (448, 448)
auto_scale_lr = dict(base_batch_size=8)
model = dict(
    _delete_=True,
    type='AffinityNet',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=crop_size),
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=50,
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        out_indices=(1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmclassification/'
            'v0/resnet/resnet50_8xb32_in1k_20210831-ea4938fc.pth',
            prefix='backbone')),
    in_channels=(512, 1024, 2048),
    channels=(64, 128, 256),
    radius=5,
    loss_affinity=dict(type='AffinityLoss'))
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
    batch_size=8,
    dataset=dict(
        data_prefix=dict(seg_map_path=psa_label_dir),
        pipeline=train_pipeline))
max_iters = 10576
optim_wrapper = dict(
    optimizer=dict(lr=0.1, momentum=0.0, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={
        'branches': dict(lr_mult=10.0),
        'fuse': dict(lr_mult=10.0)
    }))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
custom_hooks = [
    dict(type='RandomWalkLabelHook', cam_dir=psa_label_dir,
         out_dir='aff_labels')
]
