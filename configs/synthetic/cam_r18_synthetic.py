# Plain CAM baseline on the synthetic set (RCM and MAM switched off), and the
# first stage of the staged recipe: 1500 iterations from the Parts-64
# weights. Make its pseudo masks with tools/make_pseudo_labels.py.
_base_ = './rcm_mam_r18_synthetic.py'
model = dict(rcm_loss=None, mam_loss=None)
max_iters = 1500
param_scheduler = [
    dict(type='PolyLR', power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=500))
custom_hooks = [dict(type='SupportNetHook')]
