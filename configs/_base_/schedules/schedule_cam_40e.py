# SGD, lr 0.01 (10x on the new layers), poly 0.9, weight decay 5e-4, as
# the paper; 40 epochs of train_aug (10,582 images) at batch 8 = 52,900 iters.
max_iters = 52900
# the total batch of the schedule (OpenMMLab's field): tools/run_pipeline.py
# --gpus N trains at base_batch_size / N per GPU
auto_scale_lr = dict(enable=False, base_batch_size=8)
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=optimizer,
    paramwise_cfg=dict(
        custom_keys={
            'main_net.projection': dict(lr_mult=10.0),
            'main_net.classifier': dict(lr_mult=10.0),
        }))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # written atomically (utils.file_io.AtomicLocalBackend)
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=2000,
        max_keep_ckpts=3, backend_args=dict(backend='atomic_local')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
custom_hooks = [dict(type='SupportNetHook')]
