"""MainSupportCAMNet: gradients, SupportNet EMA, hook, inference outputs."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from projects.rcm_mam.engine import SupportNetHook
from projects.rcm_mam.utils import InputError

CONFIG = osp.join(osp.dirname(__file__), '..', 'configs', 'synthetic',
                  'rcm_mam_r18_synthetic.py')


def build_model(**overrides):
    torch.manual_seed(0)  # the same random weights whatever ran before
    init_default_scope('mmseg')
    cfg = Config.fromfile(CONFIG)
    cfg.model.update(overrides)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def batch(n=4, size=64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(n, 3, size, size, generator=generator)
    samples = []
    for i in range(n):
        sample = SegDataSample(metainfo=dict(img_shape=(size, size),
                                             ori_shape=(size, size)))
        sample.gt_score = torch.zeros(20)
        sample.gt_score[[i % 2, 5]] = 1  # class 5 shared by all images
        sample.gt_sem_seg = PixelData(data=torch.zeros(1, size, size).long())
        samples.append(sample)
    return inputs, samples


@pytest.fixture(scope='module')
def model():
    model = build_model()
    model.reset_support_net()
    return model


def test_losses_and_gradients_reach_mainnet_only(model):
    model.train()
    inputs, samples = batch()
    losses = model.loss(inputs, samples)
    assert set(losses) == {'loss_cls', 'loss_rcm', 'loss_mam'}
    model.zero_grad()
    sum(losses.values()).backward()
    main = dict(model.main_net.named_parameters())
    # every trainable weight gets a gradient; the frozen stem and first
    # stage (the paper's setting) none
    assert all((p.grad is not None) == p.requires_grad
               for p in main.values())
    assert not main['backbone.conv1.weight'].requires_grad
    for name in ('backbone.layer2.0.conv1.weight',
                 'backbone.layer4.1.bn2.weight', 'projection.conv.weight',
                 'classifier.weight'):
        assert main[name].grad.abs().sum() > 0, name
    for name, p in model.support_net.named_parameters():
        assert not p.requires_grad and p.grad is None, name


@pytest.mark.parametrize('loss', ['loss_rcm', 'loss_mam'])
def test_each_loss_alone_sends_gradients_to_mainnet(model, loss):
    model.train()
    model.zero_grad()
    model.loss(*batch())[loss].backward()
    assert model.main_net.projection.conv.weight.grad.abs().sum() > 0
    assert model.main_net.backbone.layer2[0].conv1.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.support_net.parameters())


def test_losses_switch_off():
    model = build_model(rcm_loss=None, mam_loss=None)
    model.reset_support_net()
    assert set(model.loss(*batch())) == {'loss_cls'}
    model = build_model(mam_loss=None)
    model.reset_support_net()
    assert set(model.loss(*batch())) == {'loss_cls', 'loss_rcm'}


def test_the_model_applies_the_loss_weights():
    cfg = Config.fromfile(CONFIG).model
    models = [build_model(rcm_loss=dict(cfg.rcm_loss, loss_weight=weight),
                          mam_loss=dict(cfg.mam_loss, loss_weight=weight))
              for weight in (1.0, 0.25)]  # the same weights
    losses = []
    for model in models:
        model.reset_support_net()
        model.train()
        losses.append(model.loss(*batch()))
    for key in ('loss_rcm', 'loss_mam'):
        assert losses[0][key] > 0
        torch.testing.assert_close(losses[1][key], 0.25 * losses[0][key])


def test_nonfinite_losses_are_counted_then_stop_training(monkeypatch):
    model = build_model(mam_loss=None,
                        train_cfg=dict(support_scales=(1.0, ),
                                       mam_scales=(1.0, ), mam_every=2,
                                       max_nonfinite=3))
    model.reset_support_net()
    model.train()
    rcm = model.rcm_loss.forward
    nan = [True]
    monkeypatch.setattr(model.rcm_loss, 'forward', lambda *a: rcm(*a) * (
        float('nan') if nan[0] else 1))
    inputs, samples = batch(n=2, size=32)
    for count in (1, 2):
        losses = model.loss(inputs, samples)
        assert losses['loss_rcm'] == 0 and losses['nonfinite_rcm'] == count
    nan[0] = False  # a finite value ends the run of non-finite ones
    losses = model.loss(inputs, samples)
    assert torch.isfinite(losses['loss_rcm'])
    assert losses['nonfinite_rcm'] == 2  # the total, for the log
    nan[0] = True
    model.loss(inputs, samples)
    model.loss(inputs, samples)
    with pytest.raises(InputError, match='loss_rcm was not finite in 3 '
                       'iterations in a row \\(5 in all\\): training '
                       'diverged. Fix: lower the learning rate'):
        model.loss(inputs, samples)


def test_mam_with_training_bn_is_refused_on_several_processes(monkeypatch):
    from projects.rcm_mam.models import main_support_cam_net
    monkeypatch.setattr(main_support_cam_net, 'get_world_size', lambda: 2)
    model = build_model(main_net=dict(
        Config.fromfile(CONFIG).model.main_net,
        backbone=dict(Config.fromfile(CONFIG).model.main_net.backbone,
                      norm_eval=False)))
    model.train()
    with pytest.raises(InputError, match='MAM runs MainNet at its extra '
                       'scales on some processes only.*Fix: keep BN frozen'):
        model.loss(*batch())
    model.main_net.backbone.norm_eval = True  # the configs' frozen BN
    model.train()
    monkeypatch.setattr(main_support_cam_net, 'get_rank', lambda: 0)
    model._check_mam_passes_alike()  # accepted


def test_supportnet_stays_in_eval_mode(model):
    model.train()
    assert model.main_net.training and not model.support_net.training
    assert not any(m.training for m in model.support_net.modules())


def test_ema_update_formula():
    model = build_model()
    model.reset_support_net()
    main = dict(model.main_net.named_parameters())
    support = dict(model.support_net.module.named_parameters())
    before = {k: v.detach().clone() for k, v in support.items()}
    assert all(torch.equal(before[k], main[k]) for k in main), \
        'both start from the same weights'
    with torch.no_grad():
        for p in main.values():
            p.add_(1.0)
    model.update_support_net()
    for k, p in support.items():
        # avg = (1 - 0.004) * avg + 0.004 * main
        torch.testing.assert_close(p, 0.996 * before[k] + 0.004 * main[k])
    # buffers (BN statistics) are copied, not averaged
    for b_avg, b_src in zip(model.support_net.module.buffers(),
                            model.main_net.buffers()):
        assert torch.equal(b_avg, b_src)


def test_missing_hook_is_a_clear_error():
    model = build_model()
    with pytest.raises(InputError, match='SupportNetHook'):
        model.loss(*batch())


def fake_runner(model, iteration, stepped):
    return SimpleNamespace(
        model=model, iter=iteration,
        optim_wrapper=SimpleNamespace(should_update=lambda: stepped))


def test_hook_resets_on_fresh_start_and_steps_with_optimizer():
    model = build_model()
    hook = SupportNetHook()
    with torch.no_grad():
        model.main_net.classifier.weight.add_(1.0)
    hook.before_train(fake_runner(model, 0, False))
    assert torch.equal(model.support_net.module.classifier.weight,
                       model.main_net.classifier.weight)
    with torch.no_grad():
        model.main_net.classifier.weight.add_(1.0)
    steps = int(model.support_net.steps)
    hook.after_train_iter(fake_runner(model, 1, False), 0)
    assert int(model.support_net.steps) == steps  # accumulating: no step
    hook.after_train_iter(fake_runner(model, 1, True), 0)
    assert int(model.support_net.steps) == steps + 1
    # a resumed run (iteration > 0) keeps its SupportNet
    snapshot = model.support_net.module.classifier.weight.clone()
    hook.before_train(fake_runner(model, 5, False))
    assert torch.equal(model.support_net.module.classifier.weight, snapshot)


def test_predict_outputs(model):
    model.eval()
    # images have classes (0, 5) and (1, 5): with CAM_1 = CAM_0 = -CAM_5
    # each image has a class whose CAM is positive somewhere, whatever
    # the random weights
    classifier = model.main_net.classifier.weight.data
    classifier[1], classifier[5] = classifier[0], -classifier[0]
    inputs, samples = batch(n=2, size=48)
    with torch.no_grad():
        out = model.predict(inputs, samples)
    for sample in out:
        scores = sample.seg_logits.data
        assert scores.shape == (21, 48, 48)
        # background: the configured threshold
        assert torch.all(scores[0] == model.test_cfg['bg_threshold'])
        absent = (sample.gt_score == 0).nonzero()[:, 0] + 1
        assert torch.all(scores[absent] == 0)
        present = sample.gt_score.nonzero()[:, 0] + 1
        peaks = scores[present].amax(dim=(1, 2))
        # max-normalised: each labelled class peaks at 1 (0 if its CAM is
        # negative everywhere)
        assert all(p == 0 or abs(p - 1) < 1e-3 for p in peaks.tolist())
        assert peaks.max() > 0.999
        assert set(sample.pred_sem_seg.data.unique().tolist()) <= \
            {0, *present.tolist()}
        assert sample.pred_score.shape == (20, )


def test_predicted_labels_are_above_the_threshold_or_the_top_class(
        model, monkeypatch):
    # sigmoid: 0.88, 0.27, 0.62 / 0.05, 0.12, 0.02
    logits = torch.tensor([[2.0, -1.0, 0.5], [-3.0, -2.0, -4.0]])
    assert model.predicted_labels(logits).tolist() == [[1, 0, 1], [0, 1, 0]]
    monkeypatch.setitem(model.test_cfg, 'label_threshold', 0.7)
    assert model.predicted_labels(logits).tolist() == [[1, 0, 0], [0, 1, 0]]


def test_predict_without_samples_takes_the_classifiers_labels(model):
    model.eval()
    inputs, _ = batch(n=2, size=48)
    with torch.no_grad():
        out = model.predict(inputs)
        logits = model.main_net(inputs).logits
    for sample, image_logits in zip(out, logits):
        assert sample.metainfo['labels_from'] == 'classifier'
        assert sample.seg_logits.data.shape == (21, 48, 48)
        labels = model.predicted_labels(image_logits[None])[0]
        assert sample.pred_label.tolist() == labels.nonzero()[:, 0].tolist()


def test_image_scores_are_those_of_the_scale_one_pass(model):
    model.eval()
    inputs, samples = batch(n=2, size=48)
    with torch.no_grad():
        out = model.predict(inputs, samples)
        logits = model.main_net(inputs).cam.mean(dim=(2, 3))
    torch.testing.assert_close(
        torch.stack([s.pred_score for s in out]), logits.sigmoid())


@pytest.mark.parametrize('order', ['relu_then_sum', 'sum_then_relu'])
def test_inference_and_rcm_share_the_cam_aggregation(order):
    model = build_model(cam_aggregation=order)
    assert model.rcm_loss.cam_aggregation == order
    model.eval()
    inputs, samples = batch(n=1, size=48)
    labels = samples[0].gt_score[None]
    with torch.no_grad():
        scores, _, used = model.cam_scores(inputs, labels)
        assert used is labels
        passes = []  # every scale, unflipped and flipped back, by hand
        for flip in (False, True):
            for scale in model.test_cfg['scales']:
                x = inputs.flip(-1) if flip else inputs
                x = torch.nn.functional.interpolate(
                    x, scale_factor=scale, mode='bilinear',
                    align_corners=False) if scale != 1 else x
                cam = torch.nn.functional.interpolate(
                    model.main_net(x).cam, size=(48, 48), mode='bilinear',
                    align_corners=False)
                passes.append(cam.flip(-1) if flip else cam)
    passes = torch.stack(passes)
    total = passes.relu().sum(0) if order == 'relu_then_sum' else \
        passes.sum(0).relu()
    total = total * labels[..., None, None]
    expected = total / (total.amax(dim=(2, 3), keepdim=True) + 1e-5)
    torch.testing.assert_close(scores, expected, atol=1e-4, rtol=0)


def test_rcm_cannot_set_its_own_cam_aggregation():
    rcm_loss = Config.fromfile(CONFIG).model.rcm_loss
    rcm_loss.cam_aggregation = 'sum_then_relu'
    with pytest.raises(InputError, match='set model.cam_aggregation'):
        build_model(rcm_loss=rcm_loss)


@pytest.mark.parametrize('bias', [True, False])
def test_projection_bias_is_a_config_field(bias):
    main_net = Config.fromfile(CONFIG).model.main_net
    main_net.projection_bias = bias
    projection = build_model(main_net=main_net).main_net.projection
    assert (projection.conv.bias is not None) == bias


@pytest.mark.parametrize('key', ['train_cfg', 'test_cfg'])
def test_scales_without_one_are_a_clear_error(key):
    cfg = Config.fromfile(CONFIG).model[key]
    cfg[next(k for k in cfg if 'scales' in k)] = (0.5, 1.5)
    with pytest.raises(InputError, match=f'{key}.*must include 1.0'):
        build_model(**{key: cfg})


def test_mam_alone_runs_supportnet_on_its_images_only():
    full, alone = build_model(), build_model(rcm_loss=None)
    for model in (full, alone):
        model.reset_support_net()
        model.train()
    seen = []
    alone.support_net.register_forward_hook(
        lambda module, args, out: seen.append(len(args[0])))
    inputs, samples = batch()
    # RCM + MAM: SupportNet on the whole batch, MAM reads half of it;
    # MAM alone: the same loss from SupportNet on that half only
    torch.testing.assert_close(alone.loss(inputs, samples)['loss_mam'],
                               full.loss(inputs, samples)['loss_mam'])
    scales = alone.train_cfg['support_scales']
    assert seen == [len(inputs) // 2] * len(scales)


def test_losses_are_those_of_fp32_under_fp16_autocast(model):
    """Under AMP the network runs in fp16 but RCM and MAM are computed in
    fp32: in fp16, RCM's prototypes of absent classes (0 / max(0, 1e-12))
    were NaN and the loss was zeroed as non-finite (CPU autocast)."""
    model.train()
    inputs, samples = batch()
    exact = model.loss(inputs, samples)
    with torch.autocast('cpu', dtype=torch.float16):
        mixed = model.loss(inputs, samples)
    assert set(mixed) == set(exact)  # no nonfinite_* count
    for key in ('loss_rcm', 'loss_mam'):
        assert mixed[key].dtype == torch.float32
        assert torch.isfinite(mixed[key]) and mixed[key] > 0, key
        assert mixed[key].item() == pytest.approx(exact[key].item(),
                                                  rel=0.05), key
