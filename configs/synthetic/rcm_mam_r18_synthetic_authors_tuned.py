# The authors' recipe as `val` tuned it (docs/design_choices.md, "The
# authors' recipe"): their forms, augmentation and staging with the default
# optimizer (momentum 0.9, 10x lr on the projection and classifier) and
# RCM at weight 0.1; second stage, continuing
# rcm_r18_synthetic_authors_tuned.py's checkpoint (tools/run_pipeline.py
# --stage1-configs runs both).
_base_ = './rcm_mam_r18_synthetic_authors.py'
model = dict(rcm_loss=dict(loss_weight=0.1))
optim_wrapper = dict(
    optimizer=dict(momentum=0.9),
    paramwise_cfg=dict(
        custom_keys=dict(
            projection=dict(lr_mult=10.0), classifier=dict(lr_mult=10.0))))
