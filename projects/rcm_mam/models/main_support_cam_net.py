"""MainSupportCAMNet: a CAM network trained with RCM and MAM losses."""
import logging
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.dist import all_reduce, get_rank, get_world_size
from mmengine.logging import print_log
from mmengine.model import ExponentialMovingAverage
from mmseg.models.segmentors import BaseSegmentor
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import (ConfigType, OptConfigType, OptMultiConfig,
                         OptSampleList, SampleList)
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from ..utils.dist import finite_on_all_ranks, global_mean
from ..utils.errors import InputError
from .cam_net import CAMNet, CAMOutput
from .cam_utils import (check_cam_aggregation, labels_from_samples,
                        max_normalise, multi_scale_forward, rescale, resized,
                        sum_passes)
from .losses import RCMLoss, SupportLoss


def in_fp32(loss: Callable[..., Tensor], *args) -> Tensor:
    """``loss(*args)`` on float32 tensors with autocast off.

    Under AMP the networks run in fp16, but RCM's and MAM's sums over
    pixels and normalisations (``F.normalize``'s 1e-12 is 0 in fp16, so an
    absent class's prototype becomes 0 / 0) are computed in float32; the
    casts are no-ops in fp32 training.
    """
    device = next(a.device.type for a in args if isinstance(a, Tensor))
    with torch.autocast(device_type=device, enabled=False):
        return loss(*(a.float() if isinstance(a, Tensor)
                      and a.is_floating_point() else a for a in args))


@MODELS.register_module()
class MainSupportCAMNet(BaseSegmentor):
    """A MainNet trained with an EMA SupportNet (docs/method.md).

    Training: the multi-label classification loss on MainNet's CAM logits,
    plus RCM and MAM, which read SupportNet's multi-scale CAMs (no
    gradient). SupportNet is MMEngine's ``ExponentialMovingAverage`` of
    MainNet, kept in eval mode; ``SupportNetHook`` copies MainNet into it
    when training starts and updates it after every optimizer step. It is a
    submodule, so checkpoints save it and ``--resume`` restores it.

    Inference (``predict``): MainNet CAMs over ``test_cfg.scales`` with
    horizontal flips, summed (with ReLU before or after the sum, by
    ``cam_aggregation``, as RCM's SupportNet scores), restricted to the
    image's labelled classes and max-normalised per class; ``seg_logits``
    holds the constant background score ``test_cfg.bg_threshold`` followed
    by the C class scores, ``pred_sem_seg`` their argmax, ``pred_score`` the
    (C,) sigmoid image scores of the scale-1 pass (for mmpretrain's
    multi-label metrics) and ``pred_label`` the indices of the classes
    used. An image without a label (no ``gt_score``, e.g. a user's photo)
    takes the classes its own scores put above
    ``test_cfg.label_threshold`` (0.5 by default), the top class at least;
    the metainfo's ``labels_from`` says which ('given' or 'classifier').

    Args:
        main_net (dict): :class:`CAMNet` config.
        loss_cls (dict): Multi-label loss on the (N, C) image logits.
        rcm_loss (dict, optional): :class:`RCMLoss` config; None: no RCM.
        mam_loss (dict, optional): :class:`MAMLoss` config; None: no MAM.
        support_momentum (float): SupportNet EMA momentum in MMEngine's
            sense (0.004: keep 0.996 of the average each step).
        cam_aggregation (str): 'sum_then_relu' (the raw CAMs summed over
            scales and flips, then ReLU'd) or 'relu_then_sum' (each pass's
            CAM ReLU'd, then summed, as IRN), for inference and RCM's pixel
            labels alike. Defaults to 'sum_then_relu'.
        train_cfg (dict): ``support_scales`` (SupportNet input scales, must
            include 1), ``mam_scales`` (MainNet scales of MAM, must include
            1), ``mam_every`` (MAM runs on every k-th image of the global
            batch: 2 = half, as the paper), ``loss_resolution`` (where RCM
            and MAM compare: 'feature', at MainNet's feature map, the
            default, or 'input', with every CAM and feature bilinearly
            upsampled to the input crop, as the authors' code) and
            ``max_nonfinite`` (training
            stops after that many non-finite RCM or MAM losses in a row;
            default 20).
            None (as mmseg's ``init_model`` sets it): inference only.
        test_cfg (dict): ``scales`` (must include 1, whose pass gives the
            image scores), ``flip``, ``bg_threshold``, ``label_threshold``
            and ``max_long_side`` (larger images are shrunk to it for the
            CAMs, which are resized back; None: no bound).
        data_preprocessor (dict, optional): ``SegDataPreProcessor`` config.
        init_cfg (dict, optional): Initialisation config.
        pretrained (None): Only None, which mmseg's ``init_model`` passes;
            the backbone's ``init_cfg`` loads weights.
    """

    def __init__(self,
                 main_net: ConfigType,
                 loss_cls: ConfigType = dict(
                     type='mmpretrain.CrossEntropyLoss', use_sigmoid=True),
                 rcm_loss: OptConfigType = None,
                 mam_loss: OptConfigType = None,
                 support_momentum: float = 0.004,
                 cam_aggregation: str = 'sum_then_relu',
                 train_cfg: ConfigType = dict(
                     support_scales=(0.5, 1.0, 1.5, 2.0),
                     mam_scales=(0.5, 1.0, 2.0),
                     mam_every=2),
                 test_cfg: ConfigType = dict(
                     scales=(0.5, 1.0, 1.5, 2.0), flip=True,
                     bg_threshold=0.15, max_long_side=1024),
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None,
                 pretrained: None = None) -> None:
        super().__init__(data_preprocessor, init_cfg)
        if pretrained is not None:
            raise InputError(
                f'model.pretrained={pretrained!r}: this model loads weights '
                'with model.main_net.backbone.init_cfg. Fix: set that.')
        self.main_net: CAMNet = MODELS.build(main_net)
        self.support_net = ExponentialMovingAverage(
            self.main_net, momentum=support_momentum)
        self.loss_cls = MODELS.build(loss_cls)
        check_cam_aggregation(cam_aggregation)
        self.cam_aggregation = cam_aggregation
        self.rcm_loss = self._build_rcm_loss(rcm_loss)
        self.mam_loss = MODELS.build(mam_loss) if mam_loss else None
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        # per loss name: non-finite values in a row, and in all
        self._nonfinite_run: Dict[str, int] = {}
        self._nonfinite_total: Dict[str, int] = {}
        self.align_corners = False  # read by postprocess_result
        self._check_scales('test_cfg.scales', test_cfg['scales'])
        if train_cfg is not None:
            self._check_train_cfg(train_cfg)

    @staticmethod
    def _check_scales(key: str, scales: Sequence[float]) -> None:
        if 1.0 not in scales:
            raise InputError(f'model.{key} = {scales} must include 1.0.')

    def _check_train_cfg(self, train_cfg: ConfigType) -> None:
        for key in ('support_scales', 'mam_scales'):
            self._check_scales(f'train_cfg.{key}', train_cfg[key])
        if train_cfg.get('loss_resolution', 'feature') not in (
                'feature', 'input'):
            raise InputError(
                'model.train_cfg.loss_resolution='
                f"{train_cfg['loss_resolution']!r} is not a resolution. "
                "Fix: use 'feature' or 'input'.")

    def _build_rcm_loss(self, cfg: OptConfigType) -> Optional[RCMLoss]:
        """RCM with MainNet's sizes and the model's ``cam_aggregation``."""
        if not cfg:
            return None
        if 'cam_aggregation' in cfg:
            raise InputError(
                'model.rcm_loss.cam_aggregation is set: inference and RCM '
                'share one order. Fix: set model.cam_aggregation instead.')
        return MODELS.build(cfg, default_args=dict(
            num_classes=self.main_net.classifier.out_channels,
            channels=self.main_net.classifier.in_channels,
            cam_aggregation=self.cam_aggregation))

    # --- SupportNet -------------------------------------------------------
    def train(self, mode: bool = True) -> 'MainSupportCAMNet':
        """Set the train/eval mode; SupportNet always stays in eval mode."""
        super().train(mode)
        self.support_net.eval()
        return self

    def reset_support_net(self) -> None:
        """Make SupportNet an exact copy of MainNet (both start equal)."""
        self.support_net.steps.zero_()
        self.support_net.update_parameters(self.main_net)

    def update_support_net(self) -> None:
        """One EMA step of SupportNet towards MainNet."""
        self.support_net.update_parameters(self.main_net)

    # --- training ---------------------------------------------------------
    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        """MainNet backbone features of (N, 3, H, W) normalised images."""
        return self.main_net.backbone(inputs)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict:
        """Classification, RCM and MAM losses of a batch.

        Args:
            inputs (Tensor): (N, 3, H, W) normalised images.
            data_samples (list[SegDataSample]): With ``gt_score`` (C,).

        Returns:
            dict[str, Tensor]: ``loss_cls`` and, if switched on,
            ``loss_rcm`` and ``loss_mam``; ``nonfinite_rcm`` /
            ``nonfinite_mam`` (not losses, for the log) once one was not
            finite.
        """
        if self.train_cfg is None:
            raise InputError(
                'The model was built without train_cfg (as mmseg\'s '
                'init_model builds it), for inference only. Fix: build it '
                'from the config with its train_cfg to train it.')
        self._check_mam_passes_alike()
        labels = labels_from_samples(data_samples)
        main = self.main_net(inputs)
        losses = dict(loss_cls=self.loss_cls(main.logits, labels))
        size = inputs.shape[-2:] if self.train_cfg.get(
            'loss_resolution') == 'input' else main.cam.shape[-2:]
        support_cams = None  # (S, N, C, h, w) once SupportNet ran
        if self.rcm_loss is not None:
            support = self._support_forward(inputs, size)
            support_cams = torch.stack([out.cam for out in support])
            scale_one = self.train_cfg['support_scales'].index(1.0)
            loss = in_fp32(self.rcm_loss, main.feature,
                           support[scale_one].feature, support_cams, labels,
                           scale_one)
            losses[self.rcm_loss.loss_name] = self._weighted(
                self.rcm_loss, loss)
        if self.mam_loss is not None:
            losses[self.mam_loss.loss_name] = self._weighted(
                self.mam_loss,
                self._mam(inputs, resized(main.cam, size), support_cams,
                          labels))
        for name, count in self._nonfinite_total.items():  # logged only
            losses[name.replace('loss_', 'nonfinite_', 1)] = \
                main.logits.new_tensor(float(count))
        return losses

    def parse_losses(self, losses: Dict[str, Tensor]) -> Tuple[Tensor, Dict]:
        """MMEngine's, with the logged values averaged over the processes.

        Each process's RCM and MAM are its share of the global mean
        (``utils.dist.global_mean``): their average over processes is the
        global mean, while one process's value alone (MMEngine logs rank
        0's) is not (at 8 x 1 only even ranks have MAM images). The loss
        that trains is unchanged.
        """
        loss, log_vars = super().parse_losses(losses)
        if get_world_size() > 1:
            values = torch.stack([v.detach().float()
                                  for v in log_vars.values()])
            all_reduce(values, op='mean')
            log_vars = OrderedDict(zip(log_vars, values))
        return loss, log_vars

    def _check_mam_passes_alike(self) -> None:
        """Refuse MAM with BatchNorm in training mode in multi-process
        training: MAM's extra MainNet passes run on the processes that hold
        its images only, so SyncBN would wait for the others forever, and
        plain BN's running statistics (which MMEngine's DDP does not
        broadcast) would drift apart."""
        if self.mam_loss is None or self.train_cfg['mam_every'] == 1 or \
                get_world_size() == 1:
            return
        if any(m.training for m in self.main_net.modules()
               if isinstance(m, _BatchNorm)):
            raise InputError(
                'MAM runs MainNet at its extra scales on some processes only '
                '(every mam_every-th image of the global batch), which BN in '
                'training mode cannot follow (SyncBN hangs, running '
                'statistics differ). Fix: keep BN frozen (the backbone\'s '
                'norm_eval=True, as the configs), set '
                'model.train_cfg.mam_every=1, or train on one process.')

    def _support_forward(self, inputs: Tensor,
                         size: Sequence[int]) -> List[CAMOutput]:
        """SupportNet outputs at ``support_scales``, CAMs resized to size."""
        if self.support_net.steps == 0:
            raise InputError(
                'SupportNet was never initialised from MainNet. Fix: add '
                "dict(type='SupportNetHook') to custom_hooks in the config.")
        with torch.no_grad():
            return multi_scale_forward(self.support_net, inputs,
                                       self.train_cfg['support_scales'],
                                       size)

    def _mam(self, inputs: Tensor, cam: Tensor,
             support_cams: Optional[Tensor], labels: Tensor) -> Tensor:
        """MAM loss on every ``mam_every``-th image of the global batch.

        ``cam`` is MainNet's (N, C, h, w) scale-1 CAM of the batch at the
        losses' resolution; ``support_cams`` are SupportNet's
        (S, N, C, h, w) CAMs of the whole batch at it (RCM's); None:
        SupportNet runs on MAM's images only.
        """
        n = len(inputs)
        every = self.train_cfg['mam_every']
        index = [i for i in range(n) if (get_rank() * n + i) % every == 0]
        if not index:  # no MAM image here; the other ranks' count this one
            return global_mean(cam.sum() * 0, cam.new_zeros(()))
        if support_cams is None:
            support_cams = torch.stack([
                out.cam for out in self._support_forward(
                    inputs[index], cam.shape[-2:])
            ])
        else:
            support_cams = support_cams[:, index]
        return in_fp32(self.mam_loss,
                       self._mam_main_cams(inputs[index], cam[index]),
                       support_cams, labels[index],
                       self.train_cfg['mam_scales'].index(1.0))

    def _mam_main_cams(self, images: Tensor, cam: Tensor) -> Tensor:
        """MainNet CAMs of MAM's images at ``train_cfg.mam_scales``.

        Args:
            images (Tensor): (n, 3, H, W) MAM's images.
            cam (Tensor): (n, C, h, w) their scale-1 CAM (of the batch's
                pass, at the losses' resolution), which the other scales
                are resized to.

        Returns:
            Tensor: (S_m, n, C, h, w) CAMs.
        """
        return torch.stack([
            cam if scale == 1 else resized(
                self.main_net(rescale(images, scale)).cam, cam.shape[-2:])
            for scale in self.train_cfg['mam_scales']
        ])

    def _weighted(self, loss_module: SupportLoss, loss: Tensor) -> Tensor:
        """``loss`` times its module's ``loss_weight``; 0 if not finite.

        Non-finite values (on any rank: all ranks decide alike) are counted
        (``nonfinite_<loss>`` in the log, the run's total so far);
        ``train_cfg.max_nonfinite`` of them in a row (default 20) stop
        training with an error.
        """
        name = loss_module.loss_name
        loss = loss_module.loss_weight * loss
        if finite_on_all_ranks(loss):
            self._nonfinite_run[name] = 0
            return loss
        self._nonfinite_run[name] = self._nonfinite_run.get(name, 0) + 1
        self._nonfinite_total[name] = self._nonfinite_total.get(name, 0) + 1
        limit = self.train_cfg.get('max_nonfinite', 20)
        if self._nonfinite_run[name] >= limit:
            raise InputError(
                f'{name} was not finite in {limit} iterations in a row '
                f'({self._nonfinite_total[name]} in all): training diverged. '
                'Fix: lower the learning rate or the loss weight, or raise '
                'train_cfg.max_nonfinite to go on.')
        print_log(f'{name} is not finite ({self._nonfinite_run[name]} in a '
                  'row); it is set to 0 for this iteration.',
                  logger='current', level=logging.WARNING)
        return loss.new_zeros(())

    # --- inference --------------------------------------------------------
    def cam_scores(
            self,
            images: Tensor,
            labels: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Tensor]:
        """Multi-scale (+ flip) CAM scores at the input size.

        Args:
            images (Tensor): (N, 3, H, W) normalised images.
            labels (Tensor, optional): (N, C) multi-hot image labels; None:
                the classifier's (:meth:`predicted_labels`).

        Returns:
            tuple[Tensor, Tensor, Tensor]: (N, C, H, W) scores in [0, 1], 0
            for absent classes, the (N, C) image logits of the scale-1 pass
            without flip, and the (N, C) labels used.
        """
        flips = (False, True) if self.test_cfg.get('flip', True) else (
            False, )
        scales = self.test_cfg['scales']
        total = 0
        for flip in flips:
            x = images.flip(-1) if flip else images
            outputs = multi_scale_forward(self.main_net, x, scales,
                                          images.shape[-2:])
            if not flip:
                logits = outputs[scales.index(1.0)].logits
            total = total + sum_passes(
                (out.cam.flip(-1) if flip else out.cam for out in outputs),
                self.cam_aggregation)
        if labels is None:
            labels = self.predicted_labels(logits)
        return max_normalise(total, labels), logits, labels

    def predicted_labels(self, logits: Tensor) -> Tensor:
        """(N, C) multi-hot labels of the classes whose sigmoid score is
        above ``test_cfg.label_threshold`` (0.5 by default), the top class
        of each image at least, from (N, C) image logits."""
        scores = logits.sigmoid()
        labels = (scores > self.test_cfg.get('label_threshold', 0.5)).to(
            scores.dtype)
        labels[torch.arange(len(scores)), scores.argmax(1)] = 1
        return labels

    def _infer(self, inputs: Tensor,
               data_samples: SampleList) -> Tuple[Tensor, Tensor, Tensor]:
        """(N, C + 1, H, W) background threshold and class scores, the
        (N, C) image logits and the (N, C) labels used (each sample's
        ``gt_score``, or the classifier's where it has none).

        Each image is processed at its own size (``img_shape``), bounded by
        ``test_cfg.max_long_side``; the padding of the batch stays 0.
        """
        n, _, height, width = inputs.shape
        num_classes = self.main_net.classifier.out_channels
        scores = inputs.new_zeros(n, num_classes + 1, height, width)
        scores[:, 0] = self.test_cfg['bg_threshold']
        logits = inputs.new_zeros(n, num_classes)
        labels = inputs.new_zeros(n, num_classes)
        for i, sample in enumerate(data_samples):
            h, w = sample.img_shape
            image = self._bounded(inputs[i:i + 1, :, :h, :w], sample)
            given = sample.gt_score[None] if 'gt_score' in sample else None
            cams, logits[i:i + 1], labels[i:i + 1] = self.cam_scores(
                image, given)
            if image.shape[-2:] == (h, w):
                scores[i:i + 1, 1:, :h, :w] = cams
            else:  # resize the labelled classes only: the others are 0
                keys = labels[i].nonzero()[:, 0]
                scores[i:i + 1, 1 + keys, :h, :w] = resize(
                    cams[:, keys], size=(h, w), mode='bilinear',
                    align_corners=False)
        return scores, logits, labels

    def _bounded(self, image: Tensor, sample) -> Tensor:
        """The (1, 3, H, W) ``image`` shrunk to a long side of at most
        ``test_cfg.max_long_side`` (its CAMs are resized back to H, W).

        Inference memory grows with the pixel count times the test scales
        (10 GB for a 12-megapixel photo at scales 0.5-1.5 with flip); the
        bound caps the part the network passes take.
        """
        limit = self.test_cfg.get('max_long_side')
        size = image.shape[-2:]
        if not limit or max(size) <= limit:
            return image
        shrunk = [max(1, round(x * limit / max(size))) for x in size]
        where = sample.metainfo.get('img_path', 'image')
        print_log(f'{where}: {size[0]}x{size[1]} pixels, more '
                  f'than test_cfg.max_long_side={limit}: its CAMs are '
                  f'computed at {shrunk[0]}x{shrunk[1]} and resized back.',
                  logger='current', level=logging.WARNING)
        return resize(image, size=shrunk, mode='bilinear',
                      align_corners=False)

    def encode_decode(self, inputs: Tensor,
                      batch_data_samples: SampleList) -> Tensor:
        """(N, C + 1, H, W) background threshold and class scores."""
        return self._infer(inputs, batch_data_samples)[0]

    def predict(self, inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """Pseudo-mask scores, their argmax, the image scores and the
        labels used (see the class docstring)."""
        if data_samples is None:
            data_samples = [SegDataSample(metainfo=dict(
                img_shape=inputs.shape[-2:], ori_shape=inputs.shape[-2:]))
                for _ in inputs]
        given = ['given' if 'gt_score' in s else 'classifier'
                 for s in data_samples]
        seg_logits, logits, labels = self._infer(inputs, data_samples)
        data_samples = self.postprocess_result(seg_logits, data_samples)
        for sample, image_logits, image_labels, source in zip(
                data_samples, logits, labels, given):
            sample.pred_score = image_logits.sigmoid()
            sample.pred_label = image_labels.nonzero()[:, 0]
            sample.set_metainfo(dict(labels_from=source))
        return data_samples

    def _forward(self, inputs: Tensor,
                 data_samples: OptSampleList = None) -> CAMOutput:
        """MainNet features and CAMs of a batch (``mode='tensor'``)."""
        return self.main_net(inputs)
