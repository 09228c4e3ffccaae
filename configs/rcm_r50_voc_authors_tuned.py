# The authors' recipe as `val` tuned it (configs/_base_/authors_tuned.py) on
# PASCAL VOC2012 train_aug, first stage: classification + RCM from the
# ImageNet weights. The RCM + MAM stage
# (configs/rcm_mam_r50_voc_authors_tuned.py) continues its checkpoint.
_base_ = ['./rcm_r50_voc_authors.py', './_base_/authors_tuned.py']
model = {{_base_.tuned_model}}
optim_wrapper = {{_base_.tuned_optim_wrapper}}
