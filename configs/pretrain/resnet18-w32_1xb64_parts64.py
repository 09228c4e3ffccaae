# Pretraining on Parts-64 (tools/dataset_converters/make_parts_corpus.py), the
# synthetic stand-in for ImageNet: mmpretrain's ImageClassifier with the
# backbone of the synthetic CAM configs (ResNet-18 at half width: 32 base
# channels), trained by mmpretrain's own runner stack:
#   python tools/dataset_converters/make_parts_corpus.py --out data/parts64
#   python tools/train.py configs/pretrain/resnet18-w32_1xb64_parts64.py
#   python tools/publish_checkpoint.py \
#       work_dirs/resnet18-w32_1xb64_parts64/epoch_15.pth pretrained \
#       --name resnet18-w32_parts64
# Its strides are ImageNet's (output stride 32); the CAM configs load the
# same weights at output stride 16, as VOC's configs do ImageNet's.
# the project's checkpoint loader (MMEngine checkpoints on torch >= 2.6)
custom_imports = dict(imports=['projects.rcm_mam'], allow_failed_imports=False)
_base_ = [
    'mmpretrain::_base_/models/resnet18.py',
    'mmpretrain::_base_/default_runtime.py'
]
data_root = 'data/parts64'
num_classes = 64
model = dict(
    backbone=dict(base_channels=32, stem_channels=32),
    head=dict(num_classes=num_classes, in_channels=256))
data_preprocessor = dict(
    num_classes=num_classes,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)
# no colour augmentation: body colours are part of what defines a class
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=96, crop_ratio_range=(0.35, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=96, edge='short'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        ann_file='meta/train.txt',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        ann_file='meta/val.txt',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
# SGD (lr 0.1, momentum 0.9, weight decay 1e-4: mmpretrain's ImageNet
# ResNet values, lr not scaled down to the batch of 64) with a one-epoch
# linear warm-up and cosine decay, 15 epochs: what 2 CPU cores train in
# about 25 minutes
max_epochs = 15
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True,
         begin=1, end=max_epochs, convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=1, max_keep_ckpts=2))
randomness = dict(seed=0)
