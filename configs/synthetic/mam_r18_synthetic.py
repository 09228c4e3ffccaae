# Ablation: MAM only on the synthetic set.
_base_ = './rcm_mam_r18_synthetic.py'
model = dict(rcm_loss=None)
