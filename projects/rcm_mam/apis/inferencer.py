"""``MMSegInferencer`` for the project's configs."""
from mmcv.transforms import Compose
from mmseg.apis import MMSegInferencer
from mmseg.utils import ConfigType

from ..datasets.transforms import (LoadVerifiedAnnotations,
                                   LoadVerifiedImageFromFile)
from .inference import loader_color_type


class CAMInferencer(MMSegInferencer):
    """mmseg's inferencer on the project's models (CAM and stage 2).

    ``MMSegInferencer`` swaps the test pipeline's step typed exactly
    ``LoadImageFromFile`` for its loader of paths and arrays, and drops one
    typed ``LoadAnnotations``; the project's configs load images and masks
    with the checking :class:`LoadVerifiedImageFromFile` and
    :class:`LoadVerifiedAnnotations`, which this maps to those (keeping the
    stored pixel orientation). Same arguments and outputs as
    ``MMSegInferencer``; a CAM model takes its classifier's image labels
    (``MainSupportCAMNet``), so ``pred_label`` and ``labels_from`` come with
    each data sample.
    """

    def _init_pipeline(self, cfg: ConfigType) -> Compose:
        steps = []
        for step in cfg.test_dataloader.dataset.pipeline:
            if step['type'] == LoadVerifiedImageFromFile.__name__:
                step = dict(step, type='LoadImageFromFile',
                            color_type=loader_color_type([step]))
            elif step['type'] == LoadVerifiedAnnotations.__name__:
                continue
            steps.append(step)
        cfg.test_dataloader.dataset.pipeline = steps
        return super()._init_pipeline(cfg)
