# The authors' recipe as `val` tuned it (configs/_base_/authors_tuned.py) on
# PASCAL VOC2012 train_aug, second stage: RCM + MAM, continuing the RCM
# stage, whose checkpoint MainNet and SupportNet both start from:
#   python tools/train.py configs/rcm_mam_r50_voc_authors_tuned.py \
#       --cfg-options \
#       load_from=work_dirs/rcm_r50_voc_authors_tuned/iter_52900.pth
_base_ = ['./rcm_mam_r50_voc_authors.py', './_base_/authors_tuned.py']
model = {{_base_.tuned_model}}
optim_wrapper = {{_base_.tuned_optim_wrapper}}
