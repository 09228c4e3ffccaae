# Ablation: RCM only on the synthetic set.
_base_ = './rcm_mam_r18_synthetic.py'
model = dict(mam_loss=None)
