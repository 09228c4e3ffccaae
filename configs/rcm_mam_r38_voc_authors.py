# The authors' recipe on the paper's backbone, second stage: RCM + MAM on
# PSA's ResNet-38d (output stride 8, 4,096 channels, every BN frozen, the
# stem and b2* not trained, Dropout2d 0.2 in b6 and b7 as the authors'
# code), continuing the RCM stage (configs/rcm_r38_voc_authors.py):
#   python tools/train.py configs/rcm_mam_r38_voc_authors.py --cfg-options \
#       load_from=work_dirs/rcm_r38_voc_authors/iter_52900.pth
# ImageNet weights: Wu et al.'s model A1,
# ilsvrc-cls_rna-a1_cls1000_ep-0001.params (github.com/itijyou/ademxapp,
# which PSA's README links), or PSA's converted .pth, converted once by
#   python tools/model_converters/resnet38d_psa.py FILE pretrained
# which writes pretrained/resnet38d_psa-<sha256[:8]>.pth (named by its
# content) and prints the option that gives it to this config:
#   --cfg-options model.main_net.backbone.init_cfg.checkpoint=THAT_FILE
_base_ = './rcm_mam_r50_voc_authors.py'
resnet38d_checkpoint = 'pretrained/resnet38d_psa-CONVERTED.pth'
model = dict(
    main_net=dict(
        backbone=dict(
            _delete_=True,
            type='ResNet38d',
            dropout=(0.2, 0.2),
            init_cfg=dict(type='Pretrained',
                          checkpoint=resnet38d_checkpoint)),
        in_channels=4096))
