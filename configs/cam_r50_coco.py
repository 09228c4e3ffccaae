# Plain CAM baseline on COCO 2014: the full config with RCM and MAM switched
# off, and the first stage of the staged recipe (README), so it writes no
# pseudo masks after training: tools/make_pseudo_labels.py makes them on
# demand with the inherited pseudo_label_hook settings.
_base_ = './rcm_mam_r50_coco.py'
model = dict(rcm_loss=None, mam_loss=None)
custom_hooks = [dict(type='SupportNetHook')]
