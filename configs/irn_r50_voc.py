# IRN's class-boundary network (Ahn et al., CVPR 2019) on PASCAL VOC 2012,
# with IRN's published settings (jiwoon-ahn/irn, run_sample.py and
# step/train_irn.py): the frozen ImageNet ResNet-50, crop 512, batch 32,
# 3 epochs of train_aug (10,582 // 32 x 3 = 990 iterations), SGD lr 0.1
# with poly decay, weight decay 1e-4 and momentum 0 (IRN's PolyOptimizer
# passes the weight decay, 1e-4, into SGD's momentum slot), no colour
# augmentation. Its training labels are the CAM stage's confident labels:
#   python tools/make_pseudo_labels.py configs/rcm_mam_r50_voc.py CKPT \
#       --confident --work-dir work_dirs/rcm_mam_r50_voc
# (ir_labels/ there, with the CAMs the random walk reads). After training,
# RandomWalkLabelHook writes the refined pseudo masks (irn_labels/) of the
# images of walk_dataset (the CAM configs' test set, for the image labels)
# and scores those of `train`.
_base_ = [
    './_base_/default_runtime.py', './_base_/datasets/voc12aug_image_label.py'
]
ir_label_dir = '{{ fileDirname }}/../work_dirs/rcm_mam_r50_voc/ir_labels'
crop_size = (512, 512)
auto_scale_lr = dict(enable=False, base_batch_size=32)
model = dict(
    type='IRNBoundaryNet',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=crop_size),
    # IRN reads the ImageNet weights, not the CAM network's; the stage-1
    # backbone instead: init_cfg=dict(type='Pretrained', checkpoint=CKPT,
    # prefix='main_net.backbone')
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=50,
        strides=(1, 2, 2, 1),
        out_indices=(3, ),
        norm_eval=True,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmclassification/'
            'v0/resnet/resnet50_8xb32_in1k_20210831-ea4938fc.pth',
            prefix='backbone')),
    in_channels=(64, 256, 512, 1024, 2048),
    channels=32,
    num_groups=4,
    radius=10,
    loss_affinity=dict(type='AffinityLoss'))
# IRN's random rescale by 0.5-1.5 (of a 500 px long side, VOC's), random
# crop (padded with 255 by the data preprocessor) and flip
load_image = dict(type='LoadImageFromFile',
                  color_type='color_ignore_orientation')
train_pipeline = [
    load_image,
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(500, 500), ratio_range=(0.5, 1.5),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='PseudoMaskVOCDataset',  # refuses an unfinished label folder
        data_root={{_base_.data_root}},
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(img_path='JPEGImages', seg_map_path=ir_label_dir),
        pipeline=train_pipeline))
max_iters = 990
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.0, weight_decay=1e-4))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
val_cfg = val_dataloader = val_evaluator = None
walk_dataset = {{_base_.test_dataloader.dataset}}
test_cfg = test_dataloader = test_evaluator = None  # not a tools/test.py model
# IRN's walk: radius 5, beta 10, 2^8 steps, background 0.25
custom_hooks = [dict(type='RandomWalkLabelHook', cam_dir=ir_label_dir)]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=max_iters,
        backend_args=dict(backend='atomic_local')),
    sampler_seed=dict(type='DistSamplerSeedHook'))
randomness = dict(seed=0)
