"""CAMIoUMetric and the pseudo-mask helpers on hand-made CAMs and masks."""
import numpy as np
import pytest
import torch

from projects.rcm_mam.evaluation import (CAMIoUMetric,
                                         PresentClassAveragePrecision)
from projects.rcm_mam.models import pseudo_mask
from projects.rcm_mam.utils import InputError

META = dict(classes=('background', 'A', 'B'))


def sample(scores, gt, configured=0.25):
    """A predicted data sample as MMEngine's evaluator passes it (dict)."""
    scores = torch.tensor(scores, dtype=torch.float32)[:, None]  # (C,1,W)
    logits = torch.cat([torch.full_like(scores[:1], configured), scores])
    return dict(seg_logits=dict(data=logits),
                gt_sem_seg=dict(data=torch.tensor([[gt]])),
                gt_score=torch.tensor([1., 1.]))


def evaluate(metric, samples, batch=None):
    metric.dataset_meta = META
    metric.process(batch or {}, samples)
    return metric.compute_metrics(metric.results)


def test_scores_need_the_images_labels():
    """A sample whose CAMs used the classifier's labels (no image label)
    is refused, not scored."""
    unlabelled = dict(sample([[0.9, 0.1]], [1, 0]), labels_from='classifier',
                      img_path='x.jpg')
    with pytest.raises(InputError, match='x.jpg: no image label'):
        evaluate(CAMIoUMetric(), [unlabelled])


def test_threshold_mask_ties_go_to_background():
    scores = np.array([[[0.1, 0.6, 0.3, 0.0]], [[0.0, 0.0, 0.2, 0.9]]])
    assert pseudo_mask.threshold_mask(scores, 0.25).tolist() == [[0, 1, 1,
                                                                  2]]
    assert pseudo_mask.threshold_mask(scores, 0.6).tolist() == [[0, 0, 0, 2]]


def test_miou_per_threshold_hand_computed():
    # gt [bg, A, A, B]; A scores [.1 .6 .3 0], B scores [0 0 .2 .9]
    s = sample([[0.1, 0.6, 0.3, 0.0], [0.0, 0.0, 0.2, 0.9]], [0, 1, 1, 2])
    metrics = evaluate(CAMIoUMetric(thresholds=(0.05, 0.35, 0.65)), [s])
    curve = metrics['curve']
    # t=.05: pred [A A A B]: IoU bg 0, A 2/3, B 1
    assert curve['0.05'] == pytest.approx(100 * (0 + 2 / 3 + 1) / 3, abs=0.01)
    # t=.25 (configured, added to the sweep): perfect
    assert curve['0.25'] == 100.0
    # t=.35: pred [bg A bg B]: bg 1/2, A 1/2, B 1
    assert curve['0.35'] == pytest.approx(100 * 2 / 3, abs=0.01)
    # t=.65: pred [bg bg bg B]: bg 1/3, A 0, B 1
    assert curve['0.65'] == pytest.approx(100 * 4 / 9, abs=0.01)
    assert metrics['mIoU'] == 100.0 and metrics['threshold'] == 0.25
    assert metrics['oracle_threshold'] == 0.25
    assert metrics['per_class_IoU'] == dict(background=100.0, A=100.0,
                                            B=100.0)


def test_ignored_pixels_and_sums_over_images():
    a = sample([[0.9, 0.9], [0.0, 0.0]], [1, 255])
    b = sample([[0.0, 0.0], [0.9, 0.1]], [2, 0])
    metrics = evaluate(CAMIoUMetric(thresholds=(0.5, )), [a, b])
    # pixels: (A, A), (B, B), (bg, bg): all right, the 255 one ignored
    assert metrics['curve']['0.5'] == 100.0
    # at 0.05, b's second pixel (0.1) becomes B: bg 0/1, B 1/2
    metrics = evaluate(CAMIoUMetric(thresholds=(0.05, )), [a, b])
    assert metrics['curve']['0.05'] == pytest.approx(100 * 1.5 / 3, abs=.01)


@pytest.mark.parametrize('unary', ['label', 'prob'])
def test_crf_scores_and_valid_label_map(unary):
    h, w = 24, 32
    image = np.zeros((h, w, 3), np.uint8)
    image[:, 16:] = 220  # object on the right half
    scores = np.zeros((2, h, w))
    scores[0, :, 10:] = 1.0  # CAM spills 6 px left of the object
    gt = np.zeros((h, w), np.int64)
    gt[:, 16:] = 1
    refined = pseudo_mask.crf_refine(image, scores, 0.5, [1],
                                     dict(unary=unary))
    assert refined.shape == (h, w) and set(np.unique(refined)) <= {0, 1}
    assert (refined == gt).mean() > (
        pseudo_mask.threshold_mask(scores, 0.5) == gt).mean()
    s = sample(scores, gt)
    s['seg_logits']['data'] = torch.cat(
        [torch.full((1, h, w), 0.25), torch.tensor(scores).float()])
    s['gt_sem_seg']['data'] = torch.tensor(gt)[None]
    s['gt_score'] = torch.tensor([1., 0.])
    batch = dict(inputs=[torch.tensor(image[..., ::-1].copy()).permute(
        2, 0, 1)])
    metrics = evaluate(CAMIoUMetric(thresholds=(0.5, ),
                                    crf=dict(unary=unary)), [s],
                       batch)
    assert metrics['crf_mIoU'] > metrics['mIoU']
    assert set(metrics['crf_curve']) == {'0.25'}


def test_crf_unaries_hand_computed():
    # 2 classes, the image has class 2 only (key 2; class 1 scores 0, as
    # for every absent class); 1 x 2 pixels scoring 0.6 and 0.1 for it,
    # background threshold 0.25
    scores = np.array([[[0., 0.]], [[0.6, 0.1]]], np.float32)
    prob = pseudo_mask.crf_unary(scores, 0.25, [2], dict(unary='prob'))
    np.testing.assert_allclose(
        prob, -np.log([[0.25, 0.25], [0.6, 0.1]]), rtol=1e-6)
    # IRN's: the thresholded label with probability gt_prob, the rest
    # shares 1 - gt_prob
    label = pseudo_mask.crf_unary(scores, 0.25, [2],
                                  dict(unary='label', gt_prob=0.7))
    np.testing.assert_allclose(
        label, -np.log([[0.3, 0.7], [0.7, 0.3]]), rtol=1e-6)


@pytest.mark.parametrize('crf, match', [
    (dict(unary='softmax'), "unary='softmax' is not a unary"),
    (dict(bilateral_sigma=5), r"unknown keys \['bilateral_sigma'\]"),
])
def test_crf_settings_are_checked(crf, match):
    with pytest.raises(InputError, match=match):
        CAMIoUMetric(crf=crf)


def test_crf_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(__import__('sys').modules, 'pydensecrf.densecrf',
                        None)
    with pytest.raises(InputError, match='pip install pydensecrf2'):
        CAMIoUMetric(crf=dict())


def test_present_class_map():
    results = [
        dict(pred_score=torch.tensor([0.9, 0.1, 0.0]),
             gt_score=torch.tensor([1., 0., 0.])),
        dict(pred_score=torch.tensor([0.2, 0.8, 0.0]),
             gt_score=torch.tensor([0., 1., 0.])),
    ]
    metric = PresentClassAveragePrecision()
    # class 3 never occurs: the mean is over classes 1 and 2 (both AP 100)
    assert metric.compute_metrics(results)['mAP'] == pytest.approx(100.0)
