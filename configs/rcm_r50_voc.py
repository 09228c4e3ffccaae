# Ablation: RCM only (the full config with MAM switched off).
_base_ = './rcm_mam_r50_voc.py'
model = dict(mam_loss=None)
