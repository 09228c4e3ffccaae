# Ablation: MAM only (the full config with RCM switched off).
_base_ = './rcm_mam_r50_voc.py'
model = dict(rcm_loss=None)
