# Plain CAM baseline: the full config with RCM and MAM switched off. It is
# also the first stage of the staged recipe (README), so it writes no pseudo
# masks after training: tools/make_pseudo_labels.py makes them on demand.
_base_ = './rcm_mam_r50_voc.py'
model = dict(rcm_loss=None, mam_loss=None)
custom_hooks = [dict(type='SupportNetHook')]
