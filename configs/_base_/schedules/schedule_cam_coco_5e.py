# The CAM schedule of IRN-family COCO code, as ReCAM's and AMN's
# run_sample_coco.py set it (github.com/zhaozhengChen/ReCAM,
# github.com/gaviotas/AMN; read from their code, not checked against the
# papers' text): 5 epochs at batch 16, SGD lr 0.1 (10x on the new layers),
# weight decay 1e-4, poly decay (power 0.9). Their optimizer (IRN's
# PolyOptimizer) passes the weight decay to torch.optim.SGD by position,
# where it lands on the momentum (1e-4): in effect plain SGD, so momentum 0
# here. 5 epochs of train (82,081 images) at batch 16 = 25,650 iterations
# (5,130 full batches each, as their drop_last).
_base_ = './schedule_cam_40e.py'
max_iters = 25650
auto_scale_lr = dict(base_batch_size=16)
optim_wrapper = dict(optimizer=dict(lr=0.1, momentum=0.0, weight_decay=1e-4))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
