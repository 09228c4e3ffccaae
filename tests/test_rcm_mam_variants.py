"""The designs that lost on val (benchmarks/rcm_mam_variants.py) still do
what their exploration rows measured."""
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from benchmarks.rcm_mam_variants import (ContrastHeadCAMNet,
                                         UnlocatedMAMLoss, UnlocatedRCMLoss)
from test_model import CONFIG, batch, build_model


def test_ramp_scales_the_weighted_losses_by_the_iteration():
    plain, ramped = build_model(), build_model(type='RampedCAMNet',
                                               ramp_iters=8)
    losses = []
    MessageHub.get_current_instance().update_info('iter', 2)
    for model in (plain, ramped):
        model.reset_support_net()
        model.train()
        losses.append(model.loss(*batch()))
    for key in ('loss_rcm', 'loss_mam'):
        assert losses[0][key] > 0
        torch.testing.assert_close(losses[1][key], losses[0][key] * 0.25)
    torch.testing.assert_close(losses[1]['loss_cls'], losses[0]['loss_cls'])


@pytest.mark.parametrize('variant', ['MainSupportCAMNet',
                                     'ScaleOneBNStatsCAMNet'])
def test_mam_rescaled_passes_move_bn_statistics_unless_scale_one(variant):
    model, reference = (build_model(type=variant, rcm_loss=None)
                        for _ in range(2))  # the same weights
    for net in (model, reference):  # BN training (the config freezes BN)
        net.main_net.backbone.norm_eval = False
    model.reset_support_net()
    model.train()
    reference.train()
    inputs, samples = batch()
    model.loss(inputs, samples)
    reference.main_net(inputs)  # the scale-1 pass alone

    def norms(net):
        return [m for m in net.main_net.modules()
                if isinstance(m, torch.nn.BatchNorm2d)]

    stats = [torch.cat([m.running_mean for m in norms(net)])
             for net in (model, reference)]
    assert torch.equal(*stats) == (variant == 'ScaleOneBNStatsCAMNet')
    assert {m.momentum for m in norms(model)} == {0.1}  # restored


def test_contrast_head_feeds_rcm_and_trains_at_the_new_layers_lr():
    cfg = Config.fromfile(CONFIG)
    model = build_model(main_net=dict(cfg.model.main_net,
                                      type='ContrastHeadCAMNet'))
    net = model.main_net
    assert isinstance(net, ContrastHeadCAMNet)
    images = batch()[0]
    out = net(images)
    x = net.backbone(images)[-1]
    torch.testing.assert_close(out.feature, net.projection_rcm(x))
    torch.testing.assert_close(out.cam, net.classifier(net.projection(x)))
    init_default_scope('mmseg')
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    head = {id(p) for p in net.projection_rcm.parameters()}
    lrs = {g['lr'] for g in optimizer.param_groups
           if any(id(p) in head for p in g['params'])}
    assert lrs == {10 * cfg.optim_wrapper.optimizer.lr}


def test_skip_unlocated_leaves_out_what_supportnet_scores_nowhere():
    # 1 image, 3 classes, 2 scales, 1 x 2 pixels; class 2 is not labelled
    cams = torch.tensor([[[[1., -3.]], [[-1., -1.]], [[-1., -1.]]],
                         [[[-2., 0.]], [[-1., -1.]], [[-1., -1.]]]])[:, None]
    labels = torch.tensor([[1., 1., 0.]])
    # class 0 has a positive pixel: located, though not recognised
    for loss in (UnlocatedRCMLoss, UnlocatedMAMLoss):
        assert loss(skip_missed='unlocated').missed(cams, labels).tolist() \
            == [[False, True, False]]
        assert loss(skip_missed='unrecognised').missed(
            cams, labels).tolist() == [[True, True, False]]
    located = torch.tensor([[-1., 2, 0, 0]]).view(1, 1, 1, 2, 2)
    support = torch.cat([located, -torch.ones(1, 1, 1, 2, 2)], dim=2)
    skipped = UnlocatedMAMLoss(relu=True, skip_missed='unlocated')(
        torch.zeros(1, 1, 2, 2, 2), support, torch.tensor([[1., 1.]]), 0)
    assert skipped.item() == pytest.approx(1.0)  # the located class only

