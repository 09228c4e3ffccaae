# PASCAL VOC2012 + SBD (train_aug) with image-level labels from VOC's XML
# (cls_labels.json: python tools/make_voc_labels.py DATA_ROOT), so training
# reads no mask and either SBD layout works (train_aug.txt or mmseg's
# trainaug.txt, found automatically). `train` and `val` are scored against
# VOC's own masks (SegmentationClass), as the literature does.
# Images are read in their stored orientation (LoadVerifiedImageFromFile's
# default color_type), on which VOC's masks are drawn; for a data set
# annotated on EXIF-rotated photos set color_type='color' in every image
# loader, the stage-2 config's too. Pseudo masks follow test_pipeline's.
dataset_type = 'VOCImageLabelDataset'
data_root = 'data/VOCdevkit/VOC2012'
label_file = 'cls_labels.json'
voc_masks = dict(img_path='JPEGImages', seg_map_path='SegmentationClass')
crop_size = (384, 384)
long_side = (256, 512)  # random resize of the long side, as the paper
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
test_pipeline = [
    dict(type='LoadVerifiedImageFromFile'),
    dict(type='LoadVerifiedAnnotations'),
    dict(type='PackWSSSInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        label_file=label_file,
        data_prefix=voc_masks,
        pipeline=train_pipeline))
# Validation during training: classifier mAP (and CAM mIoU) on `val`.
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/val.txt',
        label_file=label_file,
        data_prefix=voc_masks,
        pipeline=test_pipeline))
# tools/test.py: CAM (seed) mIoU on `train`, the WSSS convention.
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        label_file=label_file,
        data_prefix=voc_masks,
        pipeline=test_pipeline))
# CAM mIoU for a sweep of background thresholds (the model's test_cfg
# bg_threshold is the configured one), and the classifier's mAP.
val_evaluator = [
    dict(type='PresentClassAveragePrecision'),
    dict(type='CAMIoUMetric'),
]
test_evaluator = [
    dict(type='CAMIoUMetric', crf=dict(), crf_thresholds=(0.1, 0.2, 0.3)),
    dict(type='PresentClassAveragePrecision'),
]
