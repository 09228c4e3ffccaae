"""Parts-64, the pretraining corpus: class design, layout, determinism."""
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from projects.rcm_mam.utils.errors import InputError
from test_synthetic_voc import tree_digest
from tools.dataset_converters import parts_corpus as pc
from tools.dataset_converters import synthetic_voc as syn
from tools.dataset_converters.drawing import COLOURS, TEXTURES

# tree digests of an 8 + 4 image corpus and of the 12 / 6 / 6 image
# synthetic VOC set of the tests, both of seed 0 (the set's JPEGs and VOC
# masks are also pinned alone, to those the results were first made on:
# test_synthetic_voc.py)
CORPUS_SHA256 = \
    '17e7a600e05d0b07fcc178a0bd59eb9f8671066ad42ef546f85ce91a2eeae790'
VOC_SHA256 = \
    '0b27c99af104ca1aeaade6bef2fa7ad2aac70ad03a46d1c5123927b82928dca5'


def test_no_class_reuses_a_segmentation_body_and_cue():
    classes = pc.class_table()
    assert pc.segmentation_overlap(classes) == []
    # the check can fail: a corpus class made of cat's pair is caught
    cat = classes[0]._replace(name='quadruped-cat_face', body='quadruped',
                              cue='cat_face')
    assert pc.segmentation_overlap([cat]) == ['quadruped-cat_face']
    # the signatures speak the corpus's vocabulary, one per drawn class
    assert set(syn.SIGNATURES) == set(syn.CLASSES)
    for body, cue in syn.SIGNATURES.values():
        assert body in pc.BODIES and cue in pc.CUES


def test_class_design():
    classes = pc.class_table()
    assert len(classes) == pc.NUM_CLASSES >= 50
    assert len({(c.body, c.cue) for c in classes}) == len(classes)
    assert len({c.name for c in classes}) == len(classes)
    # every shape and part is used, by four classes each
    for attr, vocabulary in (('body', pc.BODIES), ('cue', pc.CUES)):
        counts = [sum(getattr(c, attr) == k for c in classes)
                  for k in vocabulary]
        assert counts == [4] * len(vocabulary), attr
    for c in classes:
        assert set(c.textures) <= set(TEXTURES) - {'sky'}
        assert set(c.colours) <= set(COLOURS)
        assert sum(c.textures.values()) == pytest.approx(1)
        assert sum(c.colours.values()) == pytest.approx(1)
        assert c.layout in pc.LAYOUTS and c.cue_colour in pc.CUE_COLOURS


def test_images_show_their_object():
    """Against the scene it is drawn on (the same random stream starts with
    it), each class's image differs on its object: a sizeable part of the
    image, not all of it."""
    for index, cls in enumerate(pc.class_table()):
        image = pc.make_image(np.random.default_rng(index), cls)
        assert image.shape == (112, 112, 3) and image.dtype == np.uint8
        background = syn.scene(np.random.default_rng(index), 112, 112)
        changed = (np.abs(image - background).max(-1) > 30).mean()
        assert 0.05 < changed < 0.6, cls.name


def make(out, seed=0, num_train=8, num_val=4):
    pc.make_parts_corpus(str(out), seed, num_train, num_val, nproc=1)
    return str(out)


def test_layout(tmp_path):
    root = make(tmp_path / 'c')
    lines = open(osp.join(root, 'meta', 'train.txt')).read().splitlines()
    assert lines[:2] == ['train/000000.jpg 0', 'train/000001.jpg 1']
    assert len(lines) == 8
    assert len(open(osp.join(root, 'meta', 'val.txt')).readlines()) == 4
    names = open(osp.join(root, 'meta', 'classes.txt')).read().split()
    assert names == [c.name for c in pc.class_table()]
    image = Image.open(osp.join(root, 'train', '000007.jpg'))
    assert image.format == 'JPEG' and image.size == (112, 112)


def test_deterministic_and_resumable(tmp_path):
    a = make(tmp_path / 'a')
    assert tree_digest(a) == tree_digest(make(tmp_path / 'b'))
    assert tree_digest(a) != tree_digest(make(tmp_path / 'c', seed=1))
    path = osp.join(a, 'train', '000003.jpg')
    stamp = os.stat(path).st_mtime_ns
    os.remove(osp.join(a, 'train', '000004.jpg'))
    make(a)  # an interrupted run resumes: only the missing image is made
    assert os.stat(path).st_mtime_ns == stamp
    assert tree_digest(a) == tree_digest(tmp_path / 'b')


def test_other_settings_or_drawing_code_are_refused(tmp_path, monkeypatch):
    root = make(tmp_path / 'c')
    with pytest.raises(InputError, match='other settings.*corpus.json'):
        make(root, seed=1)
    monkeypatch.setattr(pc, 'make_image',
                        lambda rng, cls: np.zeros((112, 112, 3), np.uint8))
    with pytest.raises(InputError, match='other settings'):
        make(root)


def test_generators_draw_what_they_drew(tmp_path, voc_root):
    """The bytes of both generators are pinned: the shipped checkpoint was
    pretrained on this corpus and the recorded results were made on this
    segmentation set. A change of drawing code must change these digests
    on purpose (and re-make what depends on them)."""
    assert tree_digest(make(tmp_path / 'c')) == CORPUS_SHA256
    assert tree_digest(voc_root) == VOC_SHA256
