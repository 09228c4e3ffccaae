"""RCM and MAM against hand-computed values on tiny tensors."""
import math

import pytest
import torch

from projects.rcm_mam.models.cam_utils import sum_passes
from projects.rcm_mam.models.losses import MAMLoss, RCMLoss
from projects.rcm_mam.models.losses.mam_loss import cosine_weights
from projects.rcm_mam.models.upsampled_features import UpsampledFeatures
from projects.rcm_mam.models.losses.rcm_loss import (image_prototypes,
                                                     leave_one_out,
                                                     pixel_pseudo_labels,
                                                     support_scores)
from projects.rcm_mam.utils.errors import InputError


def test_pixel_pseudo_labels_thresholds_and_ignore_band():
    # one image, 2 classes, 4 pixels (1 x 4)
    scores = torch.tensor([[[[0.9, 0.2, 0.04, 0.5]],
                            [[0.1, 0.25, 0.0, 0.6]]]])
    assert pixel_pseudo_labels(scores, 0.3, 0.3).tolist() == [[[1, 0, 0,
                                                               2]]]
    # background below 0.05, ignored in [0.05, 0.3)
    assert pixel_pseudo_labels(scores, 0.05, 0.3).tolist() == [[[1, 255, 0,
                                                                2]]]


def test_cam_aggregation_order_of_relu_and_sum():
    # two passes, one class, 3 pixels: a pass's negative score cancels the
    # other's positive one only when the sum comes first
    cams = torch.tensor([[[[2., -1., -3.]]], [[[-1., 3., 1.]]]])[:, None]
    torch.testing.assert_close(sum_passes(cams, 'relu_then_sum'),
                               torch.tensor([[[[2., 3., 1.]]]]))
    torch.testing.assert_close(sum_passes(cams, 'sum_then_relu'),
                               torch.tensor([[[[1., 2., -2.]]]]))
    labels = torch.tensor([[1.]])
    torch.testing.assert_close(support_scores(cams, labels, 'relu_then_sum'),
                               torch.tensor([[[[2 / 3, 1., 1 / 3]]]]),
                               atol=1e-4, rtol=0)
    torch.testing.assert_close(support_scores(cams, labels, 'sum_then_relu'),
                               torch.tensor([[[[0.5, 1., 0.]]]]),
                               atol=1e-4, rtol=0)
    with pytest.raises(InputError, match='cam_aggregation.*Fix'):
        RCMLoss(cam_aggregation='mean')


def test_image_prototypes_are_normalised_masked_sums():
    features = torch.tensor([[[[1., 0., 0.6]], [[0., 1., 0.8]]]])  # (1,2,1,3)
    labels = torch.tensor([[[1, 1, 255]]])
    protos = image_prototypes(UpsampledFeatures(features, (1, 3)), labels,
                              num_classes=3)
    s = 1 / math.sqrt(2)
    torch.testing.assert_close(protos[0],
                               torch.tensor([[0., 0.], [s, s], [0., 0.]]))


def test_leave_one_out_mean_of_other_images():
    protos = torch.tensor([[[1., 0.]], [[0., 1.]], [[0., 0.]]])  # (3,1,2)
    present = torch.tensor([[1.], [1.], [0.]])
    none_sum, none_count = torch.zeros(1, 2), torch.zeros(1)
    loo, available = leave_one_out(protos, present, 0, 3, none_sum,
                                   none_count)
    # image 0 sees image 1 only; image 1 sees image 0; image 2 sees both
    s = 1 / math.sqrt(2)
    torch.testing.assert_close(
        loo[:, 0], torch.tensor([[0., 1.], [1., 0.], [s, s]]))
    assert available[:, 0].tolist() == [True, True, True]
    # a class only in image 0 is unavailable to image 0
    _, available = leave_one_out(protos[:1], present[:1], 0, 1, none_sum,
                                 none_count)
    assert available.tolist() == [[False]]
    # ... unless the memory holds it; rank offset picks this rank's part
    loo, available = leave_one_out(protos, present, 1, 1,
                                   torch.tensor([[1., 1.]]),
                                   torch.tensor([1.]))
    torch.testing.assert_close(loo[0, 0], torch.tensor([2., 1.]) / 5**0.5)


def two_image_batch():
    """2 images, 1 x 3 pixels, C = 2 (class A labelled in both).

    SupportNet: pixel 0 scores A 1.0 -> label A; pixel 1 scores 0.2 and
    pixel 2 scores 0 -> background (with the spec's single threshold 0.3).
    Features: (1, 0) at the A pixel, (0, 1) at the others.
    """
    labels = torch.tensor([[1., 0.], [1., 0.]])
    cam = torch.tensor([[[1.0, 0.2, 0.0]], [[0.0, 0.0, 0.0]]])  # (C, 1, 3)
    support_cams = torch.stack([cam, cam])[None]  # (S=1, N=2, C, 1, 3)
    feature = torch.tensor([[[1., 0., 0.]], [[0., 1., 1.]]])  # (D=2, 1, 3)
    support_feature = torch.stack([feature, feature])
    return labels, support_cams, support_feature


def test_rcm_loss_hand_computed():
    labels, support_cams, support_feature = two_image_batch()
    main_feature = support_feature.clone().requires_grad_()
    # Leave-one-out prototypes: A = (1, 0), background = (0, 1); class B
    # has no region anywhere: excluded. Each pixel's logit is 2 * cos = 2
    # for its own prototype and 0 for the other: CE = log(1 + e^-2).
    loss = RCMLoss(num_classes=2, channels=2)(main_feature, support_feature,
                                              support_cams, labels)
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-2)))
    # the model applies loss_weight (tests/test_model.py), the loss does not
    loss = RCMLoss(num_classes=2, channels=2, temperature=1.0,
                   loss_weight=0.5)(main_feature, support_feature,
                                    support_cams, labels)
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-1)))
    loss.backward()
    assert main_feature.grad.abs().sum() > 0


def test_rcm_loss_ignores_band_and_unavailable_classes():
    labels, support_cams, support_feature = two_image_batch()
    main_feature = support_feature.clone()
    main_feature[1] = main_feature[1].flip(0)  # image 1 points wrong
    # pixel 1 (score 0.2) falls in the ignore band [0.1, 0.3). Image 0's
    # two counted pixels are right (log(1 + e^-2) each), image 1's wrong
    # (log(1 + e^2) each).
    loss = RCMLoss(num_classes=2, channels=2, bg_threshold=0.1)(
        main_feature, support_feature, support_cams, labels)
    expected = (math.log(1 + math.exp(-2)) + math.log(1 + math.exp(2))) / 2
    assert loss.item() == pytest.approx(expected)
    # A only in image 0 (image 1 is all background): image 0's A pixel has
    # no other image's prototype and is ignored; its background pixels see
    # only the background prototype (CE log 1 = 0). Image 1 sees A (from
    # image 0) and background: pixel 0 is right (log(1 + e^-2)), pixels 1
    # and 2 wrong (log(1 + e^2)). Mean over the 5 counted pixels:
    support_cams[0, 1] = 0
    loss = RCMLoss(num_classes=2, channels=2)(main_feature, support_feature,
                                              support_cams, labels)
    expected = (math.log(1 + math.exp(-2)) + 2 * math.log(1 + math.exp(2)))
    assert loss.item() == pytest.approx(expected / 5)


def test_rcm_all_ignored_gives_zero_with_graph():
    labels, support_cams, support_feature = two_image_batch()
    main_feature = support_feature.clone().requires_grad_()
    loss = RCMLoss(num_classes=2, channels=2)(main_feature[:1],
                                              support_feature[:1],
                                              support_cams[:, :1],
                                              labels[:1])
    assert loss.item() == 0 and loss.requires_grad


def test_rcm_skips_images_where_supportnet_misses_a_labelled_class():
    labels, support_cams, support_feature = two_image_batch()
    # image 2 is a copy of image 0; SupportNet's image logit of A in image
    # 1 is negative: it does not recognise A there
    labels = torch.cat([labels, labels[:1]])
    support_cams = torch.cat([support_cams, support_cams[:, :1]], dim=1)
    support_cams[:, 1] = -1.0
    support_feature = torch.cat([support_feature, support_feature[:1]])
    main_feature = support_feature.clone()
    main_feature[1] = main_feature[1].flip(0)  # image 1 points wrong
    args = (main_feature, support_feature, support_cams, labels)
    # image 1 is skipped: images 0 and 2 give each other A = (1, 0) and
    # background = (0, 1); each of their 6 pixels is right
    skipped = RCMLoss(num_classes=2, channels=2,
                      skip_missed='unrecognised')(*args)
    assert skipped.item() == pytest.approx(math.log(1 + math.exp(-2)))
    # as written, image 1 is all background: its A-like pixels count, wrong
    as_written = RCMLoss(num_classes=2, channels=2)(*args)
    assert as_written.item() > skipped.item() + 0.2


def test_rcm_memory_remembers_last_prototypes():
    labels, support_cams, support_feature = two_image_batch()
    rcm = RCMLoss(num_classes=2, channels=2, memory_size=3)
    rcm(support_feature, support_feature, support_cams, labels)
    assert rcm.memory_count.tolist() == [2, 2, 0]
    torch.testing.assert_close(rcm.memory[1, :2],
                               torch.tensor([[1., 0.], [1., 0.]]))
    # now a batch of one image: its A class is available from the memory
    loss = rcm(support_feature[:1], support_feature[:1],
               support_cams[:, :1], labels[:1])
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-2)))
    assert rcm.memory_count.tolist() == [3, 3, 0]
    assert 'memory' in rcm.state_dict()  # saved in checkpoints


def test_mam_weights_and_target_hand_computed():
    support_cams = torch.tensor([[1., 0, 0, 0], [1., 1, 0, 0]]).view(
        2, 1, 1, 2, 2)
    main_cams = torch.tensor([[1., 0, 0, 0], [0., 0, 0, 0]]).view(
        2, 1, 1, 2, 2).requires_grad_()
    weights = cosine_weights(main_cams[0].detach(), support_cams)
    torch.testing.assert_close(
        weights.flatten(), torch.tensor([1.0, 2 - 1 / math.sqrt(2)]))
    # target = (1 * [1,0,0,0] + 1.2929 * [1,1,0,0]) / 2
    #        = [1.14645, 0.64645, 0, 0]
    # L1 summed over main scales, mean over 4 pixels:
    #   (0.79289 + 1.79289) / 4 = 0.646447
    labels = torch.tensor([[1.]])
    loss = MAMLoss()(main_cams, support_cams, labels, ref_index=0)
    assert loss.item() == pytest.approx(0.6464466, abs=1e-6)
    loss.backward()
    assert main_cams.grad is not None


def test_mam_relu_and_normalise():
    support = torch.tensor([[-1., 2, 0, 0]]).view(1, 1, 1, 2, 2).repeat(
        1, 1, 2, 1, 1)
    main = torch.zeros(1, 1, 2, 2, 2)
    labels = torch.tensor([[1., 0.]])
    raw = MAMLoss()(main, support, labels, 0)
    # main all zero: cos = 0, w = 2, target = 2 * CAM / 1: mean |.| = 1.5
    assert raw.item() == pytest.approx(1.5)
    relu = MAMLoss(relu=True)(main, support, labels, 0)
    assert relu.item() == pytest.approx(1.0)  # target [0, 4, 0, 0]
    normalised = MAMLoss(relu=True, normalise=True)(main, support, labels, 0)
    assert normalised.item() == pytest.approx(0.5, abs=1e-5)  # [0,2,0,0]


def test_mam_skips_classes_supportnet_does_not_recognise():
    recognised = torch.tensor([[-1., 2, 0, 0]]).view(1, 1, 1, 2, 2)
    unrecognised = -torch.ones(1, 1, 1, 2, 2)
    support = torch.cat([recognised, unrecognised], dim=2)  # (1, 1, 2, 2, 2)
    main = torch.zeros(1, 1, 2, 2, 2)
    labels = torch.tensor([[1., 1.]])
    # ReLU'd target [0, 4, 0, 0] (mean |.| 1) and 0 for the missed class
    as_written = MAMLoss(relu=True)(main, support, labels, 0)
    assert as_written.item() == pytest.approx(0.5)
    skipped = MAMLoss(relu=True, skip_missed='unrecognised')(main, support,
                                                             labels, 0)
    assert skipped.item() == pytest.approx(1.0)


def test_missed_classes_are_those_supportnet_does_not_recognise():
    # 1 image, 3 classes, 2 scales, 1 x 2 pixels; class 2 is not labelled
    cams = torch.tensor([[[[1., -3.]], [[-1., -1.]], [[-1., -1.]]],
                         [[[-2., 0.]], [[-1., -1.]], [[-1., -1.]]]])[:, None]
    labels = torch.tensor([[1., 1., 0.]])
    # class 0 has a positive pixel but a negative mean (-1), class 1 is
    # negative everywhere: both unrecognised
    missed = RCMLoss(skip_missed='unrecognised').missed(cams, labels)
    assert missed.tolist() == [[True, True, False]]
    for loss in (RCMLoss, MAMLoss):
        with pytest.raises(InputError, match='skip_missed'):
            loss(skip_missed='unlocated')  # benchmarks/rcm_mam_variants.py
