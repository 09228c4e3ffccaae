# The authors' recipe as `val` tuned it, first stage: their RCM stage with
# the default optimizer and RCM at weight 0.1
# (rcm_mam_r18_synthetic_authors_tuned.py says why).
_base_ = './rcm_r18_synthetic_authors.py'
model = dict(rcm_loss=dict(loss_weight=0.1))
optim_wrapper = dict(
    optimizer=dict(momentum=0.9),
    paramwise_cfg=dict(
        custom_keys=dict(
            projection=dict(lr_mult=10.0), classifier=dict(lr_mult=10.0))))
