# The authors' recipe on the synthetic set, first stage: classification +
# RCM with their forms, 1500 iterations from the Parts-64 weights (as the
# plain CAM stage of the default recipe). No pseudo masks after training.
_base_ = './rcm_mam_r18_synthetic_authors.py'
model = dict(mam_loss=None)
max_iters = 1500
param_scheduler = [
    dict(type='PolyLR', power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=500))
custom_hooks = [dict(type='SupportNetHook')]
