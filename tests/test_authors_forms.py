"""The authors' forms (configs/_base_/authors_recipe.py), each against
hand-computed values on tiny tensors or the materialised computation."""
import math
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.models.utils import resize
from mmseg.registry import MODELS, TRANSFORMS

from conftest import CONFIGS
from projects.rcm_mam.models.losses import MAMLoss, RCMLoss
from projects.rcm_mam.models.upsampled_features import UpsampledFeatures
from projects.rcm_mam.utils.errors import InputError
from test_model import batch

AUTHORS = osp.join(CONFIGS, 'synthetic', 'rcm_mam_r18_synthetic_authors.py')
T = 2.0  # RCM's logit scale
E1, E2 = torch.tensor([1., 0.]), torch.tensor([0., 1.])


def authors_model(**train_cfg):
    torch.manual_seed(0)
    init_default_scope('mmseg')
    cfg = Config.fromfile(AUTHORS).model
    cfg.train_cfg.update(train_cfg)
    model = MODELS.build(cfg)
    model.init_weights()
    model.reset_support_net()
    return model


# --- the upsampled features RCM compares at the input crop ---------------
@pytest.mark.parametrize('size_in, size_out', [((5, 5), (40, 40)),
                                               ((3, 5), (7, 11)),
                                               ((4, 4), (4, 4))])
def test_upsampled_features_equal_the_materialised_map(size_in, size_out):
    torch.manual_seed(0)
    feature = torch.randn(2, 8, *size_in, requires_grad=True)
    vectors = F.normalize(torch.randn(2, 3, 8), dim=2)
    weights = torch.rand(2, 3, *size_out)
    unit = F.normalize(resize(feature, size=size_out, mode='bilinear',
                              align_corners=False), dim=1)
    expected = torch.einsum('ndhw,nkd->nkhw', unit, vectors)
    (grad_expected, ) = torch.autograd.grad(expected.sum(), feature)
    upsampled = UpsampledFeatures(feature, size_out)
    cosine = upsampled.cosine(vectors)
    torch.testing.assert_close(cosine, expected, atol=1e-5, rtol=1e-5)
    (grad, ) = torch.autograd.grad(cosine.sum(), feature)
    torch.testing.assert_close(grad, grad_expected, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(
        upsampled.region_sums(weights),
        torch.einsum('nkhw,ndhw->nkd', weights, unit.detach()),
        atol=1e-4, rtol=1e-5)


def test_model_compares_at_the_input_crop(monkeypatch):
    model = authors_model()
    model.train()
    seen = {}
    for name in ('rcm_loss', 'mam_loss'):
        loss = getattr(model, name)
        monkeypatch.setattr(loss, 'forward', lambda *a, _f=loss.forward,
                            _n=name: seen.setdefault(_n, a) and _f(*a))
    inputs, samples = batch(n=4, size=48)
    losses = model.loss(inputs, samples)
    main_feature, _, support_cams, labels, _ = seen['rcm_loss']
    assert main_feature.shape[-2:] == (3, 3)  # stride 16
    assert support_cams.shape == (4, 4, 20, 48, 48)
    main_cams, mam_support_cams = seen['mam_loss'][:2]
    assert main_cams.shape == (3, 2, 20, 48, 48)
    assert mam_support_cams.shape == (4, 2, 20, 48, 48)
    # the same loss as RCM on the materialised, upsampled features
    rcm = model.rcm_loss
    upsampled = [resize(f, size=(48, 48), mode='bilinear',
                        align_corners=False)
                 for f in seen['rcm_loss'][:2]]
    torch.testing.assert_close(
        losses['loss_rcm'], rcm(*upsampled, *seen['rcm_loss'][2:]),
        atol=1e-5, rtol=1e-5)
    with pytest.raises(InputError, match="loss_resolution='crop'.*Fix"):
        authors_model(loss_resolution='crop')


# --- the network -----------------------------------------------------------
def test_projection_is_followed_by_relu():
    net = authors_model().main_net
    net.eval()
    images = torch.randn(2, 3, 32, 32)
    out = net(images)
    pre = net.projection.conv(net.backbone(images)[-1])
    assert (pre < 0).any() and net.projection.conv.bias is None
    torch.testing.assert_close(out.feature, F.relu(pre))
    torch.testing.assert_close(out.cam, net.classifier(F.relu(pre)))
    torch.testing.assert_close(out.logits, out.cam.mean(dim=(2, 3)))


def test_every_batch_norm_is_frozen():
    model = authors_model(loss_resolution='feature')
    bns = {n: m for n, m in model.main_net.named_modules()
           if isinstance(m, torch.nn.BatchNorm2d)}
    assert len(bns) == 20
    before = {n: [t.clone() for t in (*m.parameters(), *m.buffers())]
              for n, m in bns.items()}
    assert not any(p.requires_grad for m in bns.values()
                   for p in m.parameters())
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    model.train()
    sum(model.loss(*batch()).values()).backward()
    optimizer.step()
    for name, module in bns.items():
        after = [*module.parameters(), *module.buffers()]
        assert all(torch.equal(a, b) for a, b in zip(after, before[name]))
    # the default configs train BN's affine weights of stages 2-4
    default = MODELS.build(Config.fromfile(
        osp.join(CONFIGS, 'synthetic', 'rcm_mam_r18_synthetic.py')).model)
    assert default.main_net.backbone.layer2[0].bn1.weight.requires_grad


# --- RCM -------------------------------------------------------------------
def one_class_batch():
    """2 images, 1 x 2 pixels, C = 1, the class labelled in both; both nets'
    features e1 at pixel 0 and e2 at pixel 1. SupportNet's scale-1 CAM
    (index 0) marks pixel 0 only, its other scale pixel 1 only: their sum
    marks both."""
    labels = torch.ones(2, 1)
    scale_one = torch.tensor([[[1., 0.]]])  # (C, 1, 2)
    other = torch.tensor([[[0., 1.]]])
    support_cams = torch.stack([scale_one, other])[:, None].expand(
        2, 2, 1, 1, 2)  # (S, N, C, 1, 2)
    feature = torch.stack([E1, E2], dim=1)[:, None]  # (D, 1, 2)
    return labels, support_cams, torch.stack([feature, feature])


def rcm(**kwargs):
    return RCMLoss(num_classes=1, channels=2, cam_aggregation='relu_then_sum',
                   **kwargs)


def test_rcm_prototypes_from_supportnet_scale_one():
    labels, cams, feature = one_class_batch()
    # multi-scale regions: both pixels are the class, no background region
    # anywhere (excluded): one logit left, loss 0
    assert rcm()(feature, feature, cams, labels, 0).item() == \
        pytest.approx(0, abs=1e-6)
    # scale-1 regions: the class prototype e1, background e2; the labels
    # (both pixels the class) stay the 4-scale sum's. Pixel 0: logits 2
    # (class) and 0; pixel 1: 0 (class) and 2.
    loss = rcm(prototype_cams='scale_one')(feature, feature, cams, labels, 0)
    expected = (math.log(1 + math.exp(-T)) + math.log(1 + math.exp(T))) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_rcm_zero_prototypes_for_unavailable_classes():
    labels, cams, feature = one_class_batch()
    # no background prototype: logit 0 for it, every pixel counted; the
    # class prototype is (e1 + e2) / sqrt 2: logit 2 / sqrt 2 at both
    loss = rcm(unavailable='zero')(feature, feature, cams, labels, 0)
    assert loss.item() == pytest.approx(
        math.log(1 + math.exp(-T / math.sqrt(2))), rel=1e-5)
    # the class only in image 0 (image 1 all background): image 0's pixels
    # (the class) see a zero class prototype and image 1's background
    # (e1 + e2) / sqrt 2; image 1's pixels (background) see image 0's class
    # prototype and a zero background: every pixel log(1 + e^sqrt 2)
    labels[1] = 0
    expected = math.log(1 + math.exp(T / math.sqrt(2)))
    loss = rcm(unavailable='zero')(feature, feature, cams, labels, 0)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    # ignored instead, no pixel has a prototype of its class from another
    # image: nothing is counted
    assert rcm()(feature, feature, cams, labels, 0).item() == 0


def test_rcm_replace_memory_is_a_fifo_of_leave_one_out_prototypes():
    loss = rcm(memory_size=5, memory_mode='replace', unavailable='zero')
    loss.train()
    # image prototypes of the class: e1 in image 0, e2 in image 1; no
    # background anywhere. Leave-one-out: e2 for image 0, e1 for image 1
    protos = torch.stack([torch.stack([E1, torch.zeros(2)]),
                          torch.stack([E2, torch.zeros(2)])])  # (N, K, D)
    prototypes, available = loss._prototypes(protos)
    s = 1 / math.sqrt(2)
    torch.testing.assert_close(prototypes,
                               torch.tensor([[[s, s], [0, 0]]] * 2))
    assert available.tolist() == [[True, False]] * 2
    # three images with e1: the three leave-one-out prototypes (e1) join:
    # the memory holds e2, e1, e1, e1, e1 (5 deep), shared by every image
    prototypes, _ = loss._prototypes(torch.stack([protos[0]] * 3))
    torch.testing.assert_close(prototypes[2, 0],
                               F.normalize(E2 + 4 * E1, dim=0))
    # three more: e2 is pushed out
    prototypes, _ = loss._prototypes(torch.stack([protos[0]] * 3))
    torch.testing.assert_close(prototypes[0, 0], E1)
    assert loss.memory_count.tolist() == [8, 0]


def test_rcm_choices_are_checked():
    for field in ('prototype_cams', 'unavailable', 'memory_mode'):
        with pytest.raises(InputError, match=f'{field}=.bad. is not a '
                           'choice. Fix: use one of'):
            RCMLoss(**{field: 'bad'})


# --- MAM -------------------------------------------------------------------
def test_mam_label_masked_unnormalised_maps():
    cams = torch.tensor([[[[2., -1.]], [[3., 1.]]]])  # (1, 2, 1, 2)
    labels = torch.tensor([[1., 0.]])
    prepared = MAMLoss(relu=True, label_mask=True)._prepare(cams[None],
                                                            labels)
    torch.testing.assert_close(prepared[0],
                               torch.tensor([[[[2., 0.]], [[0., 0.]]]]))


def mam_maps():
    """MainNet at 2 scales, SupportNet at 2, one image, 1 class, 1 x 2
    pixels: M0 = (1, 0), M1 = (0, 1); S0 = (1, 0), S1 = (1, 1)."""
    main = torch.tensor([[1., 0.], [0., 1.]]).view(2, 1, 1, 1, 2)
    support = torch.tensor([[1., 0.], [1., 1.]]).view(2, 1, 1, 1, 2)
    return main, support, torch.ones(1, 1)


def test_mam_per_scale_attention_hand_computed():
    main, support, labels = mam_maps()
    c = 1 / math.sqrt(2)
    # w[s, k] = 2 - cos(M_s, S_k): cos(M0, S0) = 1, cos(M0, S1) = c,
    # cos(M1, S0) = 0, cos(M1, S1) = c; T_s = (w[s,0] S0 + w[s,1] S1) / 2
    t0 = [(1 + (2 - c)) / 2, (2 - c) / 2]
    t1 = [(2 + (2 - c)) / 2, (2 - c) / 2]
    expected = (abs(t0[0] - 1) + abs(t0[1] - 0)) / 2 + \
        (abs(t1[0] - 0) + abs(t1[1] - 1)) / 2
    loss = MAMLoss(attention='per_scale')(main, support, labels, 0)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    # 'scale_one': every MainNet scale gets T_0 (weights from M0)
    expected = (abs(t0[0] - 1) + abs(t0[1] - 0)) / 2 + \
        (abs(t0[0] - 0) + abs(t0[1] - 1)) / 2
    loss = MAMLoss(attention='scale_one')(main, support, labels, 0)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    # 'none' (model_MM_RCM): the plain mean (1, 0.5) for both scales
    loss = MAMLoss(attention='none')(main, support, labels, 0)
    assert loss.item() == pytest.approx((0.5 / 2) + (1 + 0.5) / 2)


def test_mam_reduction_over_all_classes():
    main, support, _ = mam_maps()
    # a second, absent class whose masked maps are 0 everywhere
    main, support = (torch.cat([x, -x], dim=2) for x in (main, support))
    labels = torch.tensor([[1., 0.]])
    kwargs = dict(relu=True, label_mask=True, attention='none')
    labelled = MAMLoss(**kwargs)(main, support, labels, 0)
    every = MAMLoss(reduction='all', **kwargs)(main, support, labels, 0)
    assert labelled.item() == pytest.approx((0.5 / 2) + (1 + 0.5) / 2)
    assert every.item() == pytest.approx(labelled.item() / 2)
    with pytest.raises(InputError, match='attention=.bad. is not a choice'):
        MAMLoss(attention='bad')


# --- optimizer and augmentation ---------------------------------------------
def test_sgd_without_momentum_one_lr_for_all_layers():
    model = authors_model()
    cfg = Config.fromfile(AUTHORS)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    groups = wrapper.optimizer.param_groups
    assert {g['lr'] for g in groups} == {0.01}
    assert {g['momentum'] for g in groups} == {0.0}
    default = build_optim_wrapper(model, Config.fromfile(osp.join(
        CONFIGS, 'synthetic', 'rcm_mam_r18_synthetic.py')).optim_wrapper)
    assert {g['lr'] for g in default.optimizer.param_groups} == {0.01, 0.1}


def test_bicubic_resize_and_jitter_with_probability():
    pipeline = Config.fromfile(AUTHORS).train_dataloader.dataset.pipeline
    init_default_scope('mmseg')
    resize_step = TRANSFORMS.build(pipeline[1])
    image = np.random.default_rng(0).integers(0, 256, (40, 30, 3),
                                              dtype=np.uint8)
    out = resize_step(dict(img=image.copy(), img_shape=(40, 30)))['img']
    h, w = out.shape[:2]
    assert max(h, w) in range(128, 257)
    np.testing.assert_array_equal(
        out, mmcv.imresize(image, (w, h), interpolation='bicubic'))
    jitter = TRANSFORMS.build(pipeline[3])
    assert jitter.prob == 0.8
    assert vars(jitter.transforms.transforms[0]).items() >= dict(
        brightness=(0.6, 1.4), contrast=(0.6, 1.4),
        saturation=(0.6, 1.4), hue=(-0.1, 0.1)).items()
    np.random.seed(0)
    changed = [not np.array_equal(jitter(dict(img=image.copy()))['img'],
                                  image) for _ in range(400)]
    assert 0.75 < np.mean(changed) < 0.85
