# The authors' recipe on the synthetic set, second stage: RCM + MAM with
# their forms (configs/_base_/authors_recipe.py), continuing the RCM stage
#   --cfg-options load_from=work_dirs/rcm_r18_synthetic_authors/iter_1500.pth
# which MainNet and SupportNet both start from (tools/run_pipeline.py
# --stage1-configs configs/synthetic/rcm_r18_synthetic_authors.py
# configs/synthetic/rcm_mam_r18_synthetic_authors.py runs both).
_base_ = ['./rcm_mam_r18_synthetic.py', '../_base_/authors_recipe.py']
model = {{_base_.authors_model}}
optim_wrapper = {{_base_.authors_optim_wrapper}}
# their augmentation at the synthetic set's sizes: bicubic long-side resize
# (128-256 px here, 256-512 on VOC), jitter with p 0.8
train_pipeline = [
    dict(type='LoadVerifiedImageFromFile'),
    dict(
        type='RandomResize',
        scale=(256, 256),
        ratio_range=(0.5, 1.0),
        keep_ratio=True,
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    {{_base_.authors_color_jitter}},
    dict(type='RandomGrayscale', prob=0.1, keep_channels=True),
    dict(type='RandomCrop', crop_size=(160, 160)),
    dict(type='PackWSSSInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
