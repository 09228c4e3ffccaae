# Plain CAM baseline: the full config with RCM and MAM switched off.
_base_ = './rcm_mam_r50_voc.py'
model = dict(rcm_loss=None, mam_loss=None)
