# The authors' recipe on PASCAL VOC2012 train_aug, first stage:
# classification + RCM with their forms from the ImageNet weights (their
# rcl_57.6.pth stage). No pseudo masks after training: the RCM + MAM stage
# (configs/rcm_mam_r50_voc_authors.py) continues from its checkpoint.
_base_ = './rcm_mam_r50_voc_authors.py'
model = dict(mam_loss=None)
custom_hooks = [dict(type='SupportNetHook')]
