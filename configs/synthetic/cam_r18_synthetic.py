# Plain CAM baseline on the synthetic set (RCM and MAM switched off).
_base_ = './rcm_mam_r18_synthetic.py'
model = dict(rcm_loss=None, mam_loss=None)
