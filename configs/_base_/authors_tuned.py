# The authors' recipe as `val` tuned it (docs/design_choices.md, "The
# authors' recipe"): their forms, augmentation and staging with the
# default optimizer (momentum 0.9, 10x lr on the projection and the
# classifier) and RCM at weight 0.1 in both stages. Merged into the
# *_authors_tuned.py configs with model = {{_base_.tuned_model}} and
# optim_wrapper = {{_base_.tuned_optim_wrapper}}.
tuned_model = dict(rcm_loss=dict(loss_weight=0.1))
tuned_optim_wrapper = dict(
    optimizer=dict(momentum=0.9),
    paramwise_cfg=dict(
        custom_keys=dict(
            projection=dict(lr_mult=10.0), classifier=dict(lr_mult=10.0))))
