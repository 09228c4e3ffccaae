# RCM + MAM as the paper writes them: loss weights 1 / 1 / 1, RCM's pixel
# labels background below 0.3 with no ignore band, MAM on the raw CAMs, no
# skip_missed guard. configs/rcm_mam_r50_voc.py keeps the values the
# synthetic test bed's pretrained regime chose on val (README, "Results");
# this is the one override that restores the literal reading.
_base_ = './rcm_mam_r50_voc.py'
model = dict(
    rcm_loss=dict(
        loss_weight=1.0, fg_threshold=0.3, bg_threshold=None,
        skip_missed=None),
    mam_loss=dict(
        relu=False, normalise=False, skip_missed=None, loss_weight=1.0))
