# MS COCO 2014 with image-level labels, in the layout that
# tools/make_coco2014_wsss.py writes beside COCO's own folders: images stay
# in train2014/ and val2014/, masks in SegmentationClass/ (0 background,
# 1-80, 255 crowd), splits in ImageSets/Segmentation/, labels in
# cls_labels.json. Training reads no mask; `val` (40,137 images) and the
# seeds' subset of `train` are scored against SegmentationClass. The VOC
# data set config otherwise: the same loaders (stored orientation, as
# COCO's annotations are drawn), evaluators and pipelines.
_base_ = ['./voc12aug_image_label.py', './coco2014_classes.py']
data_root = 'data/coco2014'
metainfo = dict(classes={{_base_.coco_classes}})
train_masks = dict(img_path='train2014', seg_map_path='SegmentationClass')
# IRN-family COCO code (ReCAM's step_coco/train_cam.py): a random long side
# of 320-640 px and 512 px crops (VOC here: 256-512 and 384)
crop_size = (512, 512)
long_side = (320, 640)
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
    batch_size=16,
    dataset=dict(
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        metainfo=metainfo,
        data_prefix=train_masks,
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='ImageSets/Segmentation/val.txt',
        metainfo=metainfo,
        data_prefix=dict(img_path='val2014',
                         seg_map_path='SegmentationClass')))
# Seeds (tools/test.py) on a fixed random subset of `train`
# (make_coco2014_wsss.py --seed-subset, 1,000 images by default), since the
# evaluator also scores dense CRF, impractical over all 82,081: ReCAM's and
# AMN's COCO code score seeds on all of train2014 without CRF (their
# eval_cam steps); for that figure set ann_file to
# ImageSets/Segmentation/train.txt and test_evaluator.0.crf=None.
test_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train_subset.txt',
        metainfo=metainfo,
        data_prefix=train_masks))
