"""rcm_mam: pixel-level self-supervision (RCM + MAM) for WSSS in MMSeg 1.x.

Importing the package registers its datasets, transforms, models, losses,
metrics and hooks in the mmseg registries; configs reach it through
``custom_imports = dict(imports=['projects.rcm_mam'])``.
"""
from . import datasets, engine, evaluation, models  # noqa: F401
