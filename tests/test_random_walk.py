"""IRN's pair paths, pair labels, affinity loss and random walk against
loops, hand-computed values and the dense transition matrix; its boundary
network."""
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from conftest import CONFIGS
from projects.rcm_mam.models.losses.affinity_loss import AffinityLoss
from projects.rcm_mam.models.pair_paths import (all_offsets,
                                                feature_affinity,
                                                forward_offsets, pair_labels,
                                                path, path_affinity)
from projects.rcm_mam.models.pseudo_mask import (DEFAULT_CRF, IRN_LABEL_CRF,
                                                 confident_labels,
                                                 crf_refine, dense_crf,
                                                 psa_labels)
from projects.rcm_mam.models.random_walk import random_walk, refine_cams
from projects.rcm_mam.utils.errors import InputError


def test_offsets_are_every_pair_closer_than_the_radius_once():
    offsets = forward_offsets(5)
    assert offsets[:4] == [(0, 1), (0, 2), (0, 3), (0, 4)]
    pairs = {frozenset([(dy, dx), (-dy, -dx)]) for dy, dx in offsets}
    disc = {frozenset([(dy, dx), (-dy, -dx)])
            for dy in range(-5, 6) for dx in range(-5, 6)
            if 0 < dy * dy + dx * dx < 25}
    assert len(offsets) == len(pairs) and pairs == disc
    assert len(all_offsets(5)) == 2 * len(offsets) == 68


def test_path_is_the_pixels_within_one_of_the_line():
    assert path((0, 3)) == [(0, 0), (0, 1), (0, 2), (0, 3)]
    # the diagonal's neighbours are 1 / sqrt(2) from it
    assert path((2, 2)) == [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 1),
                            (2, 2)]
    # (2, 3): the line 2x = 3y; |2x - 3y| / sqrt(13) < 1 keeps 8 of the
    # bounding box's 12 pixels
    assert sorted(path((2, 3))) == [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2),
                                    (1, 3), (2, 2), (2, 3)]
    for offset in forward_offsets(10):  # symmetric: same pixels both ways
        dy, dx = offset
        assert {(dy - y, dx - x) for y, x in path(offset)} == \
            set(path(offset))


def test_path_affinity_against_a_loop():
    torch.manual_seed(0)
    boundary = torch.rand(2, 6, 7)
    offsets = all_offsets(4)
    affinity = path_affinity(boundary, offsets)
    for n in range(2):
        for k, (dy, dx) in enumerate(offsets):
            for y in range(6):
                for x in range(7):
                    if not (0 <= y + dy < 6 and 0 <= x + dx < 7):
                        expected = 0.0
                    else:
                        expected = 1 - max(boundary[n, y + py, x + px]
                                           for py, px in path((dy, dx)))
                    assert affinity[n, k, y, x].item() == \
                        pytest.approx(float(expected))


def test_feature_affinity_against_a_loop():
    torch.manual_seed(0)
    features = torch.randn(2, 3, 5, 6)
    offsets = all_offsets(3)
    affinity = feature_affinity(features, offsets)
    for n in range(2):
        for k, (dy, dx) in enumerate(offsets):
            for y in range(5):
                for x in range(6):
                    if 0 <= y + dy < 5 and 0 <= x + dx < 6:
                        expected = torch.exp(-(
                            features[n, :, y, x] -
                            features[n, :, y + dy, x + dx]).abs().mean())
                    else:
                        expected = torch.tensor(0.)
                    assert affinity[n, k, y, x].item() == \
                        pytest.approx(expected.item(), rel=1e-6, abs=1e-7)


def test_pair_labels_against_a_loop():
    label = torch.tensor([[[0, 0, 1, 255], [0, 2, 1, 1], [255, 2, 0, 0]]])
    offsets = forward_offsets(3)
    bg_pos, fg_pos, neg = pair_labels(label, offsets)
    for k, (dy, dx) in enumerate(offsets):
        for y in range(3):
            for x in range(4):
                a = label[0, y, x].item()
                inside = 0 <= y + dy < 3 and 0 <= x + dx < 4
                b = label[0, y + dy, x + dx].item() if inside else 255
                known = a != 255 and b != 255
                assert bg_pos[0, k, y, x] == (known and a == b == 0)
                assert fg_pos[0, k, y, x] == (known and a == b != 0)
                assert neg[0, k, y, x] == (known and a != b)
    assert bg_pos.sum() > 0 and fg_pos.sum() > 0 and neg.sum() > 0


def test_affinity_loss_by_hand():
    affinity = torch.tensor([0.9, 0.5, 0.2, 0.7]).view(1, 4, 1, 1)
    bg = torch.tensor([1., 0, 0, 0]).view(1, 4, 1, 1)
    fg = torch.tensor([0., 1, 0, 0]).view(1, 4, 1, 1)
    neg = torch.tensor([0., 0, 1, 1]).view(1, 4, 1, 1)
    pos = (-math.log(0.9 + 1e-5) / (1 + 1e-5) / 2 -
           math.log(0.5 + 1e-5) / (1 + 1e-5) / 2)
    negative = (-math.log(0.8 + 1e-5) - math.log(0.3 + 1e-5)) / (2 + 1e-5)
    loss = AffinityLoss(loss_weight=2.0)(affinity, bg, fg, neg)
    assert loss.item() == pytest.approx(2 * (pos + negative) / 2, rel=1e-6)
    # no pairs of a kind: that term is 0, not NaN
    none = torch.zeros_like(bg)
    assert AffinityLoss()(affinity, none, none, neg).item() == \
        pytest.approx(negative / 2, rel=1e-6)


def dense_walk(cams, boundary, radius, beta, log2_steps):
    """IRN's ``propagate_to_edge`` after the CAMs' (1 - boundary): the dense
    affinity of every pixel pair closer than ``radius`` (1 - the largest
    boundary on the path, both directions, 1 on the diagonal), raised to
    beta, normalised over the sources, squared log2_steps times."""
    c, h, w = cams.shape
    n = h * w
    affinity = torch.eye(n, dtype=torch.float64)
    for i in range(n):
        y, x = divmod(i, w)
        for j in range(n):
            v, u = divmod(j, w)
            dy, dx = v - y, u - x
            if 0 < dy * dy + dx * dx < radius * radius:
                affinity[i, j] = 1 - max(boundary[y + py, x + px].item()
                                         for py, px in path((dy, dx)))
    transition = affinity**beta
    transition = transition / transition.sum(0, keepdim=True)
    for _ in range(log2_steps):
        transition = transition @ transition
    return (cams.double().view(c, n) @ transition).view(c, h, w)


@pytest.mark.parametrize('size, radius, beta, log2_steps', [
    ((7, 9), 5, 10, 8), ((5, 6), 3, 8, 4), ((9, 4), 5, 10, 3)])
def test_sparse_walk_equals_the_dense_matrix(size, radius, beta, log2_steps):
    torch.manual_seed(0)
    boundary = torch.rand(*size)**2
    cams = torch.rand(3, *size) * (1 - boundary)
    affinity = path_affinity(boundary[None], all_offsets(radius))[0]
    sparse = random_walk(cams, affinity, radius, beta, 2**log2_steps)
    dense = dense_walk(cams, boundary, radius, beta, log2_steps)
    assert torch.allclose(sparse.double(), dense, atol=1e-4, rtol=1e-4)


def test_walk_stays_within_a_closed_boundary():
    """A wall of boundary 1 splits the image: a CAM on the left never
    reaches the right."""
    boundary = torch.zeros(6, 10)
    boundary[:, 5] = 1
    cams = torch.zeros(1, 6, 10)
    cams[0, 2, 1] = 1
    affinity = path_affinity(boundary[None], all_offsets(5))[0]
    out = random_walk(cams, affinity, radius=5, beta=10, steps=64)
    assert out[0, :, 6:].abs().max() == 0
    assert out[0, :, :5].min() > 0


# --- IRN's boundary network ----------------------------------------------
def boundary_net():
    init_default_scope('mmseg')
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='IRNBoundaryNet',
        backbone=dict(type='mmpretrain.ResNet', depth=18, base_channels=32,
                      stem_channels=32, strides=(1, 2, 2, 1),
                      out_indices=(3, )),
        in_channels=(32, 32, 64, 128, 256), radius=4,
        data_preprocessor=dict(type='SegDataPreProcessor')))


def labelled_loss(net, images: torch.Tensor) -> torch.Tensor:
    """The affinity loss of ``images`` (N, 3, 64, 48) labelled background,
    classes 3 and 7 and unknown between them, back-propagated."""
    label = torch.full((64, 48), 255)
    label[:32], label[40:, :20], label[40:, 28:] = 0, 3, 7
    samples = [SegDataSample(gt_sem_seg=PixelData(data=label[None]))
               for _ in range(len(images))]
    loss = net.loss(images, samples)['loss_affinity']
    loss.backward()
    assert torch.isfinite(loss) and loss > 0
    return loss


def loss_without_read_labels(net, stride: int) -> float:
    """The loss when every pixel the network reads at ``stride`` (the
    centre of each block) is unknown and the others background."""
    label = torch.zeros(64, 64, dtype=torch.long)
    label[stride // 2::stride, stride // 2::stride] = 255
    sample = SegDataSample(gt_sem_seg=PixelData(data=label[None]))
    return net.loss(torch.randn(1, 3, 64, 64), [sample])[
        'loss_affinity'].item()


def test_boundary_net_trains_its_head_only_at_stride_4():
    net = boundary_net().train()
    assert not net.backbone.training and net.branches.training
    images = torch.randn(2, 3, 64, 48)
    assert net._forward(images).shape == (2, 1, 16, 12)
    labelled_loss(net, images)
    assert all(p.grad is None for p in net.backbone.parameters())
    assert net.fuse.weight.grad.abs().sum() > 0
    assert all(p.grad.abs().sum() > 0 for p in net.branches.parameters())


def test_boundary_net_labels_are_irns_quarter_resize():
    """Pair labels read the label map at 4i + 2 (PIL's nearest at 1/4):
    a label that only the other pixels hold gives no pairs."""
    assert loss_without_read_labels(boundary_net(), 4) == 0


def test_boundary_is_flip_averaged():
    net = boundary_net().eval()
    image = torch.randn(1, 3, 32, 40)
    with torch.no_grad():
        boundary = net.boundary(image)
        flipped = net.boundary(image.flip(-1))
    assert boundary.shape == (8, 10)
    assert torch.allclose(boundary, flipped.flip(-1), atol=1e-6)
    assert boundary.min() > 0 and boundary.max() < 1


def test_refine_cams_is_the_walk_upsampled_and_globally_normalised():
    torch.manual_seed(1)
    boundary = torch.rand(5, 6)
    cams = torch.rand(2, 5, 6)
    refined = refine_cams(cams, boundary, (19, 22), radius=3, beta=10,
                          steps=16)
    walked = dense_walk(cams * (1 - boundary), boundary, 3, 10, 4).float()
    up = torch.nn.functional.interpolate(
        walked[None], size=(20, 24), mode='bilinear',
        align_corners=False)[0, :, :19, :22]
    assert refined.shape == (2, 19, 22)
    assert torch.allclose(refined, up / up.max(), atol=1e-5)
    assert refined.max() == 1


def test_confident_labels_combine_the_two_crf_masks():
    """Foreground from the high threshold's mask, background where both
    masks agree, unknown in between (IRN's cam_to_ir_label)."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    scores = np.zeros((20, 24, 32), np.float32)
    scores[4] = np.linspace(0, 1, 32)[None]  # class 5: a ramp
    scores[9, 12:] = 0.2  # class 10: weak, below the high threshold
    keys = [5, 10]
    labels = confident_labels(image, scores, keys)
    fg = crf_refine(image, scores, 0.3, keys, IRN_LABEL_CRF)
    bg = crf_refine(image, scores, 0.05, keys, IRN_LABEL_CRF)
    assert (labels[fg > 0] == fg[fg > 0]).all()
    assert (labels[(fg == 0) & (bg == 0)] == 0).all()
    assert (labels[(fg == 0) & (bg > 0)] == 255).all()
    assert {0, 5, 255} <= set(np.unique(labels))
    assert IRN_LABEL_CRF['bilateral_sxy'] == 50 and \
        IRN_LABEL_CRF['bilateral_srgb'] == 5


@pytest.mark.parametrize('config', ['irn_r50_voc.py', 'irn_r50_coco.py',
                                    'synthetic/irn_r18_synthetic.py'])
def test_irn_configs_hold_irns_settings(config):
    cfg = Config.fromfile(f'{CONFIGS}/{config}')
    init_default_scope('mmseg')
    net = MODELS.build(cfg.model)  # its in_channels fit the backbone:
    assert net._forward(torch.randn(1, 3, 64, 64)).shape == (1, 1, 16, 16)
    assert (cfg.model.radius, cfg.train_dataloader.batch_size) == (10, 32)
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=0.1, momentum=0.0, weight_decay=1e-4)
    assert cfg.param_scheduler[0].power == 0.9
    assert cfg.train_dataloader.dataset.type == 'PseudoMaskVOCDataset'
    # the walk reads the CAMs written with the confident labels it trains on
    hook = cfg.custom_hooks[0]
    assert hook.type == 'RandomWalkLabelHook' and hook.cam_dir == \
        cfg.train_dataloader.dataset.data_prefix.seg_map_path
    assert cfg.walk_dataset.data_root == \
        cfg.train_dataloader.dataset.data_root
    assert cfg.walk_dataset.get('metainfo') == \
        cfg.train_dataloader.dataset.get('metainfo')


def test_psa_labels_combine_the_two_alphas():
    """Background where the high alpha's CRF says so, else the low alpha's
    class where it is foreground, else unknown (PSA's VOC12AffDataset)."""
    from pydensecrf.utils import unary_from_softmax
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    scores = np.zeros((20, 24, 32), np.float32)
    scores[2] = np.linspace(0, 1, 32)[None]
    scores[6, :12] = 0.5
    keys = [3, 7]
    masks = []
    for alpha in (4, 32):
        probs = np.concatenate([
            (1 - scores[[2, 6]].max(0))[None]**alpha, scores[[2, 6]]])
        q = dense_crf(image, unary_from_softmax(probs.astype(np.float32)),
                      DEFAULT_CRF)
        masks.append(np.array([0, 3, 7])[q.argmax(0)])
    low, high = masks
    labels = psa_labels(image, scores, keys)
    assert (labels[high == 0] == 0).all()
    fg = (high != 0) & (low > 0)
    assert (labels[fg] == low[fg]).all()
    assert (labels[(high != 0) & (low == 0)] == 255).all()
    assert {0, 3, 255} <= set(np.unique(labels))


# --- PSA's AffinityNet ----------------------------------------------------
def affinity_net():
    init_default_scope('mmseg')
    torch.manual_seed(0)
    net = MODELS.build(dict(
        type='AffinityNet',
        backbone=dict(type='mmpretrain.ResNet', depth=18, base_channels=32,
                      stem_channels=32, strides=(1, 2, 1, 1),
                      dilations=(1, 1, 2, 4), out_indices=(1, 2, 3)),
        in_channels=(64, 128, 256), channels=(8, 8, 16),
        data_preprocessor=dict(type='SegDataPreProcessor')))
    net.init_weights()
    return net


def test_affinity_net_trains_backbone_and_head_at_stride_8():
    net = affinity_net().train()
    images = torch.randn(2, 3, 64, 48)
    assert net._forward(images).shape == (2, 32, 8, 6)
    labelled_loss(net, images)
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in net.backbone.layer4.parameters())  # trained
    assert net.fuse.conv.weight.grad.abs().sum() > 0
    with torch.no_grad():
        affinity = net.affinity(images[:1])
    assert affinity.shape == (len(all_offsets(5)), 8, 6)
    assert affinity.max() <= 1 and affinity[:, 0, 0].min() == 0  # off-image


def test_affinity_net_reads_labels_at_block_centres():
    assert loss_without_read_labels(affinity_net(), 8) == 0


def test_affinity_net_refuses_levels_of_several_strides():
    init_default_scope('mmseg')
    net = MODELS.build(dict(
        type='AffinityNet',
        backbone=dict(type='mmpretrain.ResNet', depth=18, base_channels=32,
                      stem_channels=32, out_indices=(1, 2, 3)),
        in_channels=(64, 128, 256)))
    with pytest.raises(InputError, match='at one stride'):
        net._forward(torch.randn(1, 3, 64, 64))


def test_affinity_net_walk_is_psas():
    """Without steps the walk is the identity: PSA's background
    (1 - max)^alpha beside the CAMs, average-pooled by 8 over the padded
    image, upsampled back; with steps it stays a distribution's mixture."""
    net = affinity_net().eval()
    image = torch.randn(1, 3, 36, 44)
    cams = torch.rand(2, 36, 44)
    with torch.no_grad():
        still = net.refine(image, cams, alpha=16, steps=0)
        walked = net.refine(image, cams)
    scores = torch.cat([(1 - cams.amax(0, keepdim=True))**16, cams])
    pooled = F.avg_pool2d(F.pad(scores, (0, 4, 0, 4)), 8)
    expected = F.interpolate(pooled[None], size=(40, 48), mode='bilinear',
                             align_corners=False)[0, :, :36, :44]
    assert still.shape == walked.shape == (3, 36, 44)
    assert torch.allclose(still, expected, atol=1e-6)
    assert not torch.allclose(walked, still)
    # each step averages: the walk keeps the scores within their range
    assert walked.min() >= 0 and walked.max() <= pooled.max() + 1e-6


@pytest.mark.parametrize('config', ['affinitynet_r50_voc.py',
                                    'synthetic/affinitynet_r18_synthetic.py'])
def test_affinitynet_configs_hold_psas_settings(config):
    cfg = Config.fromfile(f'{CONFIGS}/{config}')
    init_default_scope('mmseg')
    net = MODELS.build(cfg.model)  # its levels fit, at one stride:
    assert net._forward(torch.randn(1, 3, 64, 64)).shape == (1, 448, 8, 8)
    assert (cfg.model.radius, cfg.train_dataloader.batch_size) == (5, 8)
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=0.1, momentum=0.0, weight_decay=5e-4)
    hook = cfg.custom_hooks[0]
    assert hook.cam_dir == \
        cfg.train_dataloader.dataset.data_prefix.seg_map_path
    assert hook.cam_dir.endswith('psa_labels')
    assert cfg.walk_dataset.data_root == \
        cfg.train_dataloader.dataset.data_root


# --- the walk's ceiling (benchmarks/walk_ceiling.py) ----------------------
def test_ground_truth_boundary_by_hand():
    from benchmarks.walk_ceiling import gt_boundary
    gt = np.zeros((14, 15), np.uint8)  # the last blocks are cut short
    gt[:, 8:] = 3
    gt[13, 0] = 255
    expected = torch.tensor([[0., 1, 0, 0]] * 3 + [[1., 1, 0, 0]])
    assert torch.equal(gt_boundary(gt), expected)


def test_label_agreement_by_hand():
    from benchmarks.walk_ceiling import label_agreement
    gt = np.array([[0, 0, 2, 2, 255]])
    label = np.array([[0, 2, 2, 255, 2]])
    # foreground labelled 2 (1 right, the ignored pixel left out),
    # background 1 (right), ground-truth foreground 2 (1 labelled right)
    assert label_agreement(label, gt).tolist() == [2, 1, 1, 1, 2, 1]


def test_walk_over_the_true_boundary_stops_a_seed_that_bleeds(tmp_path):
    """An object on the left half, its CAM bleeding 4 pixels past its
    edge: the seeds take the bleed; over the true boundary the walk keeps
    the bleed's mass on its side, below the background score."""
    from PIL import Image

    from benchmarks.walk_ceiling import GT_WALK, image_scores, main
    root = tmp_path / 'VOC2012'
    for sub in ('ImageSets/Segmentation', 'SegmentationClass',
                'JPEGImages'):
        (root / sub).mkdir(parents=True)
    (root / 'ImageSets/Segmentation/val.txt').write_text('a\n')
    gt = np.zeros((32, 32), np.uint8)
    gt[:, :16] = 1
    image = np.full((32, 32, 3), 128, np.uint8)
    Image.fromarray(gt).save(root / 'SegmentationClass/a.png')
    Image.fromarray(image).save(root / 'JPEGImages/a.jpg')
    cam = np.zeros((1, 32, 32), np.float32)
    cam[0, :, :16] = 1
    cam[0, :, 16:20] = np.linspace(0.8, 0.3, 4)
    np.save(tmp_path / 'a.npy', dict(keys=np.array([0]), cam=cam))
    walked = image_scores(image, gt, torch.from_numpy(cam), {})[GT_WALK]
    # the boundary is block column 3 (x 12-15): the object fills up to it,
    # the bleed's mass stays right of it, spread thin over the background
    assert walked[0, :, :10].min() > 0.9
    right = walked[0, :, 18:]
    assert right.max() < 0.25 and right.max() - right.min() < 1e-3
    out = tmp_path / 'ceiling.json'
    main([str(root), str(tmp_path), '--thresholds', '0.25',
          '--out', str(out)])
    miou = json.loads(out.read_text())['mIoU']
    assert miou['seeds']['0.25'] == pytest.approx(100 * 0.5 * (
        16 / 20 + 12 / 16), abs=0.01)  # 4 columns of bleed
    assert miou[GT_WALK]['0.25'] > miou['seeds']['0.25'] + 5
