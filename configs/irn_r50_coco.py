# IRN's boundary network on MS COCO 2014 with the settings of the IRN-family
# COCO code (ReCAM's run_sample_coco.py: IRN's VOC settings, confident
# labels at 0.30 / 0.05, crop 512, batch 32, 3 epochs, lr 0.1, walk beta 10,
# 2^8 steps, background 0.25): 82,081 // 32 x 3 = 7,695 iterations on
# train2014. Its labels (of train2014, as that config's hook says):
#   python tools/make_pseudo_labels.py configs/rcm_mam_r50_coco.py CKPT \
#       --confident --work-dir work_dirs/rcm_mam_r50_coco
_base_ = ['./irn_r50_voc.py', './_base_/datasets/coco2014_classes.py']
data_root = 'data/coco2014'
metainfo = dict(classes={{_base_.coco_classes}})
ir_label_dir = '{{ fileDirname }}/../work_dirs/rcm_mam_r50_coco/ir_labels'
train_pipeline = [
    {{_base_.load_image}},
    dict(type='LoadAnnotations'),
    # IRN's rescale by 0.5-1.5 of COCO's 640 px long side
    dict(type='RandomResize', scale=(640, 640), ratio_range=(0.5, 1.5),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        metainfo=metainfo,
        data_prefix=dict(img_path='train2014', seg_map_path=ir_label_dir),
        pipeline=train_pipeline))
# train2014's images and labels, as the COCO CAM configs read them
walk_dataset = dict(
    data_root=data_root,
    ann_file='ImageSets/Segmentation/train.txt',
    metainfo=metainfo,
    data_prefix=dict(img_path='train2014', seg_map_path='SegmentationClass'))
max_iters = 7695
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
# the masks of train2014, scored on the seeds' subset of it
custom_hooks = [
    dict(type='RandomWalkLabelHook', cam_dir=ir_label_dir,
         ann_file='ImageSets/Segmentation/train.txt',
         eval_ann_file='ImageSets/Segmentation/train_subset.txt')
]
