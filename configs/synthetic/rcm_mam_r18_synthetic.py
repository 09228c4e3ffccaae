# RCM + MAM on the synthetic set, sized for a 2-core CPU: ResNet-18 from
# random init with BatchNorm training (frozen BN costs accuracy without
# ImageNet weights, METHOD.md "Known risks"), 160 px crops.
_base_ = [
    '../_base_/models/main_support_cam_r50.py',
    '../_base_/datasets/synthetic_voc_image_label.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_cam_40e.py'
]
model = dict(
    data_preprocessor=dict(size=(160, 160)),
    main_net=dict(
        backbone=dict(
            depth=18, frozen_stages=-1, norm_eval=False, init_cfg=None),
        in_channels=512))
max_iters = 600
param_scheduler = [
    dict(type='PolyLR', power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=200, max_keep_ckpts=2))
randomness = dict(seed=0)
