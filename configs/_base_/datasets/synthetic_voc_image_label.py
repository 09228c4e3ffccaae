# The synthetic VOC-format set
# (tools/dataset_converters/make_synthetic_voc.py): the VOC dataset config
# with a smaller image scale for CPU runs. Images have a long side of 200-256
# px (VOC: about 500), so the resize range and crop are halved.
_base_ = './voc12aug_image_label.py'
data_root = 'data/synthetic_voc/VOCdevkit/VOC2012'
crop_size = (160, 160)
long_side = (128, 256)
train_pipeline = [
    dict(type='LoadVerifiedImageFromFile'),
    dict(
        type='RandomResize',
        scale=(long_side[1], long_side[1]),
        ratio_range=(long_side[0] / long_side[1], 1.0),
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='mmpretrain.ColorJitter',
        brightness=0.3,
        contrast=0.3,
        saturation=0.3,
        hue=0.1),
    dict(type='RandomGrayscale', prob=0.1, keep_channels=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackWSSSInputs'),
]
train_dataloader = dict(
    num_workers=2, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(num_workers=2, dataset=dict(data_root=data_root))
test_dataloader = dict(num_workers=2, dataset=dict(data_root=data_root))
