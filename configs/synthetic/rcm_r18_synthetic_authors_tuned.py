# The authors' recipe as `val` tuned it (configs/_base_/authors_tuned.py),
# first stage: their RCM stage, 1500 iterations from the Parts-64 weights.
_base_ = ['./rcm_r18_synthetic_authors.py', '../_base_/authors_tuned.py']
model = {{_base_.tuned_model}}
optim_wrapper = {{_base_.tuned_optim_wrapper}}
