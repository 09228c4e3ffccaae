"""CAMs and masks of a trained CAM model on any images, with or without
image labels.

mmseg's ``init_model`` builds the model and ``inference_model`` runs it on
images without labels (the model then takes its classifier's labels);
:func:`inference_cams` also takes the labels a user knows.
"""
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import Compose, LoadImageFromFile
from mmseg.models import BaseSegmentor
from mmseg.structures import SegDataSample

from ..datasets.transforms import LoadVerifiedImageFromFile
from ..utils.errors import InputError

Image = Union[str, np.ndarray]
# the annotation loaders a user's image has nothing for, the image loaders
ANNOTATIONS = ('LoadAnnotations', 'LoadVerifiedAnnotations')
LOADERS = {cls.__name__: cls
           for cls in (LoadImageFromFile, LoadVerifiedImageFromFile)}


def inference_cams(
        model: BaseSegmentor,
        images: Union[Image, Sequence[Image]],
        labels: Optional[Sequence[str]] = None
) -> Union[SegDataSample, List[SegDataSample]]:
    """CAM scores, mask and image labels of each image.

    Args:
        model (BaseSegmentor): A CAM model from mmseg's ``init_model``
            (which keeps its config as ``model.cfg``).
        images (str | np.ndarray | list): Image paths or (H, W, 3) BGR
            arrays, one or a list.
        labels (list[str], optional): The class names in every image, e.g.
            ``['cat', 'dog']``; None: the model's classifier picks them.

    Returns:
        SegDataSample | list[SegDataSample]: Per image (a list for a list):
        ``seg_logits`` (C + 1, H, W), the background threshold then the
        class scores in [0, 1]; ``pred_sem_seg`` (1, H, W), the mask;
        ``pred_score`` (C,), the classifier's probabilities;
        ``pred_label``, the indices of the classes used, and the metainfo's
        ``labels_from``, 'given' or 'classifier'.
    """
    batch = isinstance(images, (list, tuple))
    images = list(images) if batch else [images]
    pipelines = {arrays: test_pipeline(model, arrays)
                 for arrays in (False, True)}
    score = None if labels is None else multi_hot(model, labels)
    results = []
    for image in images:
        array = isinstance(image, np.ndarray)
        data = pipelines[array](dict(img=image) if array
                                else dict(img_path=image))
        if score is not None:
            data['data_samples'].gt_score = score
        with torch.no_grad():
            results += model.test_step(dict(
                inputs=[data['inputs']], data_samples=[data['data_samples']]))
    return results if batch else results[0]


def test_pipeline(model: BaseSegmentor, arrays: bool) -> Compose:
    """The model config's test pipeline (its test data set's, as the tools
    and hooks use) without its annotation loaders, and for ``arrays``
    loading from memory."""
    if not hasattr(model, 'cfg'):
        raise InputError('The model has no config (model.cfg). Fix: build '
                         'it with mmseg.apis.init_model(config, checkpoint).')
    steps = [dict(step) for step in model.cfg.test_dataloader.dataset.pipeline
             if step['type'] not in ANNOTATIONS]
    if arrays:
        loader = next(i for i, step in enumerate(steps)
                      if step['type'] in LOADERS)
        steps[loader] = dict(type='LoadImageFromNDArray')
    return Compose(steps)


def loader_color_type(pipeline: Sequence[dict]) -> str:
    """The ``color_type`` the pipeline's image loader reads with (its
    class's default where the step sets none)."""
    step = next(step for step in pipeline if step['type'] in LOADERS)
    options = {k: v for k, v in step.items() if k != 'type'}
    return LOADERS[step['type']](**options).color_type


def multi_hot(model: BaseSegmentor, labels: Sequence[str]) -> torch.Tensor:
    """(C,) float multi-hot image label of the class names ``labels``
    (``model.dataset_meta['classes']`` lists background first)."""
    classes = list(model.dataset_meta['classes'])[1:]
    unknown = [name for name in labels if name not in classes]
    if unknown or not labels:
        raise InputError(
            f'image labels {list(labels)}: '
            + (f'{unknown[0]!r} is not a class of the model'
               if unknown else 'none given')
            + f'. Fix: use names of {classes}.')
    score = torch.zeros(len(classes))
    score[[classes.index(name) for name in labels]] = 1
    return score
