# The authors' recipe on the paper's backbone, first stage: classification
# + RCM on PSA's ResNet-38d from the converted ImageNet weights
# (configs/rcm_mam_r38_voc_authors.py says how to make them). No pseudo
# masks after training: the RCM + MAM stage continues its checkpoint.
_base_ = './rcm_mam_r38_voc_authors.py'
model = dict(mam_loss=None)
custom_hooks = [dict(type='SupportNetHook')]
