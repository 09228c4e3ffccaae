# The authors' own forms of the method, as their code computes them
# (docs/method.md, "The authors' forms"): merged into the *_authors.py
# configs with model = {{_base_.authors_model}} and
# optim_wrapper = {{_base_.authors_optim_wrapper}}.
authors_model = dict(
    main_net=dict(
        # every BN frozen: eval mode (norm_eval) and affine weights fixed
        backbone=dict(norm_cfg=dict(type='BN', requires_grad=False)),
        # 1x1 projection without bias, then ReLU: the CAMs and RCM's
        # feature are the ReLU'd feature's
        projection_bias=False,
        act_cfg=dict(type='ReLU')),
    # RCM: labels from the 4-scale sum (ReLU per scale after upsampling),
    # background below 0.3, no band, no skipping; prototypes from
    # SupportNet's scale-1 CAM; unavailable classes a zero prototype
    rcm_loss=dict(
        type='RCMLoss',
        fg_threshold=0.3,
        bg_threshold=None,
        temperature=2.0,
        prototype_cams='scale_one',
        unavailable='zero',
        memory_size=0,  # their optional memory: 5, memory_mode='replace'
        memory_mode='replace',
        skip_missed=None,
        loss_weight=1.0),
    # MAM: ReLU'd, label-masked, unnormalised maps; a 2 - cos weight per
    # (MainNet scale, SupportNet scale, image, class); L1 averaged over
    # all classes ('none': their model_MM_RCM's plain mean)
    mam_loss=dict(
        type='MAMLoss',
        relu=True,
        label_mask=True,
        normalise=False,
        attention='per_scale',
        reduction='all',
        skip_missed=None,
        loss_weight=1.0),
    cam_aggregation='relu_then_sum',
    # RCM and MAM on maps upsampled to the input crop
    train_cfg=dict(loss_resolution='input'))
# PSA's SGD: the weight decay lands in SGD's momentum slot (momentum 0 in
# effect); every layer at the same learning rate
authors_optim_wrapper = dict(
    optimizer=dict(momentum=0.0), paramwise_cfg=dict(_delete_=True))
# ColorJitter(0.4, 0.4, 0.4, 0.1) applied with probability 0.8
authors_color_jitter = dict(
    type='RandomApply',
    prob=0.8,
    transforms=[
        dict(
            type='mmpretrain.ColorJitter',
            brightness=0.4,
            contrast=0.4,
            saturation=0.4,
            hue=0.1)
    ])
