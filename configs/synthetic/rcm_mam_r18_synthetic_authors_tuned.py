# The authors' recipe as `val` tuned it (configs/_base_/authors_tuned.py),
# second stage: RCM + MAM for 150 iterations, continuing
# rcm_r18_synthetic_authors_tuned.py's checkpoint (tools/run_pipeline.py
# runs both by default).
_base_ = ['./rcm_mam_r18_synthetic_authors.py', '../_base_/authors_tuned.py']
model = {{_base_.tuned_model}}
optim_wrapper = {{_base_.tuned_optim_wrapper}}
