# Stage 2 on MS COCO 2014: the VOC stage-2 config (DeepLabV3, ResNet-101,
# ImageNet init, 512x512 crops, mmseg's pipelines in stored orientation)
# with COCO's 81 classes, trained on `train` with the pseudo masks of
# configs/rcm_mam_r50_coco.py and evaluated on `val` (40,137 images) with
# its real masks (mmseg's IoUMetric). Schedule: mmseg's 80k-iteration one,
# batch 4 per GPU on 4 GPUs, as its COCO-Stuff164k DeepLabV3 config
# (deeplabv3_r101-d8_4xb4-80k_coco-stuff164k-512x512.py); validation once,
# at the end (val is large).
_base_ = [
    './deeplabv3_r101_voc_pseudo.py', './_base_/datasets/coco2014_classes.py'
]
data_root = 'data/coco2014'
metainfo = dict(classes={{_base_.coco_classes}})
# point it elsewhere with --cfg-options
# train_dataloader.dataset.data_prefix.seg_map_path=DIR
pseudo_label_dir = '{{ fileDirname }}/../work_dirs/rcm_mam_r50_coco/' \
    'pseudo_labels'
model = dict(
    decode_head=dict(num_classes=81), auxiliary_head=dict(num_classes=81))
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        metainfo=metainfo,
        data_prefix=dict(img_path='train2014',
                         seg_map_path=pseudo_label_dir)))
val_dataloader = dict(
    dataset=dict(
        type='CheckedVOCDataset',  # the layout of VOC, the files checked
        data_root=data_root,
        ann_file='ImageSets/Segmentation/val.txt',
        metainfo=metainfo,
        data_prefix=dict(img_path='val2014',
                         seg_map_path='SegmentationClass')))
test_dataloader = val_dataloader
max_iters = 80000
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=8000))
