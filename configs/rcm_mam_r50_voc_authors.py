# The authors' recipe on PASCAL VOC2012 train_aug, second stage: RCM + MAM
# with their forms (configs/_base_/authors_recipe.py), continuing the RCM
# stage, whose checkpoint MainNet and SupportNet both start from:
#   python tools/train.py configs/rcm_mam_r50_voc_authors.py --cfg-options \
#       load_from=work_dirs/rcm_r50_voc_authors/iter_52900.pth
# Their network was PSA's ResNet-38d; this is ResNet-50 (ImageNet).
_base_ = ['./rcm_mam_r50_voc.py', './_base_/authors_recipe.py']
model = {{_base_.authors_model}}
optim_wrapper = {{_base_.authors_optim_wrapper}}
# their augmentation: bicubic long-side resize to 256-512, flip, jitter
# with p 0.8, grayscale p 0.1, 384 crop (zero-padded by the preprocessor)
train_pipeline = [
    dict(type='LoadVerifiedImageFromFile'),
    dict(
        type='RandomResize',
        scale=(512, 512),
        ratio_range=(0.5, 1.0),
        keep_ratio=True,
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    {{_base_.authors_color_jitter}},
    dict(type='RandomGrayscale', prob=0.1, keep_channels=True),
    dict(type='RandomCrop', crop_size=(384, 384)),
    dict(type='PackWSSSInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
