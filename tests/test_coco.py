"""MS COCO 2014: the converter's rules, its bad input and resume, the COCO
configs on a tiny COCO-format set (tests/tiny_coco.py), the README recipe.

The configs run as the README's commands do, with CPU-sized overrides
(:func:`cpu_options`): images resized to a long side of 64-96 px and
cropped to 64 px (the configs: 320-640 and 512), batch 2 (16), no data
workers, 2 iterations, and no ImageNet weights (a random ResNet-50).
"""
import glob
import json
import os
import os.path as osp
import re
import shutil
import subprocess

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.datasets import COCOStuffDataset
from mmseg.registry import DATASETS
from PIL import Image
from pycocotools.coco import COCO

import tiny_coco as tiny
from conftest import CONFIGS, PYTHON, ROOT
from projects.rcm_mam.datasets.coco_wsss import convert_coco2014
from projects.rcm_mam.utils import InputError

SPLIT_DIR = osp.join('ImageSets', 'Segmentation')
ITERS = 2


def names(split, ids):
    return [osp.splitext(tiny.file_name(split, i))[0] for i in ids]


def read_split(root, split):
    with open(osp.join(root, SPLIT_DIR, split + '.txt')) as f:
        return f.read().split()


def mask_of(root, name):
    return np.array(Image.open(osp.join(root, 'SegmentationClass',
                                        name + '.png')))


def convert(root, *flags):
    """The README's converter command on ``root``."""
    return subprocess.run(
        [PYTHON, 'tools/make_coco2014_wsss.py', root, *flags], cwd=ROOT,
        capture_output=True, text=True)


@pytest.fixture(scope='module')
def source(tmp_path_factory) -> str:
    """The tiny set as COCO ships it (read-only)."""
    return tiny.write_tiny_coco(str(tmp_path_factory.mktemp('coco') / 'src'))


@pytest.fixture(scope='module')
def converted(source, tmp_path_factory) -> str:
    """The tiny set after the converter (read-only)."""
    root = shutil.copytree(source, str(tmp_path_factory.mktemp('coco') /
                                       'converted'))
    result = convert(root, '--nproc', '2', '--seed-subset', '2')
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == (
        f'COCO 2014 in {root}: train 4, val 2, train_subset 2, '
        'train_no_annotation 1, val_no_annotation 1')
    return root


@pytest.fixture
def fresh(source, tmp_path) -> str:
    """A private, writable copy of the unconverted set."""
    return shutil.copytree(source, str(tmp_path / 'coco'))


# ------------------------------------------------------------ converter ---


def test_masks_follow_the_rules(converted):
    region = tiny.region
    expected = np.zeros((tiny.H, tiny.W), np.uint8)
    expected[region(36, 0, 64, 16)] = 255  # crowd of people
    expected[region(4, 20, 60, 44)] = 61  # dining table (id 67)
    expected[region(20, 24, 30, 34)] = 42  # cup (47) on it, listed first
    expected[region(44, 4, 56, 30)] = 1  # person over crowd and table
    np.testing.assert_array_equal(
        mask_of(converted, names('train', [9])[0]), expected)
    expected[:] = 0
    expected[region(10, 10, 20, 30)] = 80  # toothbrush (90), RLE
    expected[region(40, 5, 50, 15) | region(40, 30, 50, 40)] = 12  # stop (13)
    np.testing.assert_array_equal(
        mask_of(converted, names('train', [25])[0]), expected)
    crowd_only = mask_of(converted, names('train', [34])[0])
    assert set(np.unique(crowd_only)) == {0, 255}
    mask = Image.open(osp.join(converted, 'SegmentationClass',
                               names('train', [tiny.ROTATED])[0] + '.png'))
    assert mask.mode == 'P' and mask.size == (tiny.W, tiny.H)  # stored


def test_splits_leave_out_images_without_annotation(converted):
    assert read_split(converted, 'train') == names('train', [9, 25, 34, 36])
    assert read_split(converted, 'val') == names('val', [42, 49])
    assert read_split(converted, 'no_annotation') == \
        names('train', [30]) + names('val', [73])
    subset = read_split(converted, 'train_subset')
    assert len(subset) == 2 and set(subset) < set(read_split(converted,
                                                             'train'))
    assert subset == sorted(subset)
    record = json.load(open(osp.join(converted, 'coco2014_wsss.json')))
    assert record['complete'] and record['counts'] == dict(
        train=4, val=2, train_subset=2, train_no_annotation=1,
        val_no_annotation=1)
    masks = sorted(os.listdir(osp.join(converted, 'SegmentationClass')))
    assert masks == sorted(n + '.png' for n in read_split(converted, 'train')
                           + read_split(converted, 'val'))


def test_labels_are_the_instances_categories(converted, source):
    """Every annotation's category, crowd regions included, in id order."""
    labels = json.load(open(osp.join(converted, 'cls_labels.json')))
    expected = {}
    for split in ('train', 'val'):
        coco = COCO(osp.join(source, 'annotations',
                             f'instances_{split}2014.json'))
        for image_id, info in coco.imgs.items():
            cats = sorted({a['category_id'] for a in coco.imgToAnns[image_id]})
            if cats:
                expected[info['file_name'][:-4]] = [coco.cats[c]['name']
                                                    for c in cats]
    assert labels == expected
    assert labels[names('train', [34])[0]] == ['book']  # crowd only
    assert labels[names('train', [9])[0]] == ['person', 'cup', 'dining table']


def edit_annotations(root, split, edit):
    """Apply ``edit`` to the content of ``split``'s annotation file; its
    path."""
    path = osp.join(root, 'annotations', f'instances_{split}2014.json')
    content = json.load(open(path))
    edit(content)
    json.dump(content, open(path, 'w'))
    return path


def test_rerun_resumes_and_refuses_other_annotations(fresh):
    convert_coco2014(fresh, nproc=1, subset=2)
    folder = osp.join(fresh, 'SegmentationClass')
    stamps = {f: os.stat(osp.join(folder, f)).st_mtime_ns
              for f in os.listdir(folder)}
    first = sorted(stamps)[0]
    os.remove(osp.join(folder, first))  # killed before this one
    open(osp.join(folder, '.x.1234.tmp.png'), 'w').close()  # and its temp
    convert_coco2014(fresh, nproc=1, subset=2)
    rewritten = {f for f in stamps
                 if os.stat(osp.join(folder, f)).st_mtime_ns != stamps[f]}
    assert rewritten == {first}
    edit_annotations(fresh, 'val', lambda content: content[
        'annotations'][0].update(category_id=2))
    with pytest.raises(InputError, match='SegmentationClass was made from '
                       'other annotation files'):
        convert_coco2014(fresh, nproc=1, subset=2)


def test_missing_files_are_one_error_naming_them(fresh):
    ann = osp.join(fresh, 'annotations', 'instances_val2014.json')
    os.rename(ann, ann + '.bak')
    with pytest.raises(InputError) as info:
        convert_coco2014(fresh, nproc=1)
    assert str(info.value) == (
        f'{ann}: annotation file not found. Fix: unpack COCO\'s '
        'annotations_trainval2014.zip into the data root '
        '(annotations/instances_{train,val}2014.json).')
    os.rename(ann + '.bak', ann)
    image = osp.join(fresh, 'val2014', tiny.file_name('val', 42))
    os.remove(image)
    with pytest.raises(InputError, match=re.escape(
            f'{image}: image listed in {ann} does not exist')):
        convert_coco2014(fresh, nproc=1)


def unknown_category(content):  # 12 is one of COCO's unused ids
    content['annotations'][1]['category_id'] = 12


def renamed_category(content):
    content['categories'][0]['name'] = 'human'


def taller_image(content):  # image 9 is 48x64
    content['images'][0]['height'] = 64


def not_a_list(content):
    content['annotations'] = {'not': 'a list'}


# edit, annotation file, and the message after the file it names
BAD_ANNOTATIONS = dict(
    unknown_category=(unknown_category, 'train', 'annotation 9001 of image 9'
                      " has category id 12, which is not in the file's "
                      'categories'),
    other_categories=(renamed_category, 'val', 'its categories differ from '
                      'those of'),
    size=(taller_image, 'train', 'image is 48x64 pixels as stored, but its '
          'annotation file gives 64x64'),
    not_coco=(not_a_list, 'val', 'not a COCO instance annotation file'))


@pytest.mark.parametrize('case', sorted(BAD_ANNOTATIONS))
def test_bad_annotations_are_one_error_naming_the_file(fresh, case):
    edit, split, message = BAD_ANNOTATIONS[case]
    path = edit_annotations(fresh, split, edit)
    if case == 'size':  # the image is named
        path = osp.join(fresh, 'train2014', tiny.file_name('train', 9))
    with pytest.raises(InputError) as info:
        convert_coco2014(fresh, nproc=1)
    assert str(info.value).startswith(f'{path}: {message}')


# -------------------------------------------------------------- configs ---


def test_configs_hold_cocos_classes_and_schedule():
    cam = Config.fromfile(osp.join(CONFIGS, 'cam_r50_coco.py'))
    stage2 = Config.fromfile(osp.join(CONFIGS,
                                      'deeplabv3_r101_coco_pseudo.py'))
    classes = cam.train_dataloader.dataset.metainfo['classes']
    assert classes == ('background', ) + COCOStuffDataset.METAINFO[
        'classes'][:80]  # the things of COCO-Stuff, in COCO's id order
    for split in ('val', 'test'):
        assert cam[f'{split}_dataloader'].dataset.metainfo['classes'] == \
            classes
        assert stage2[f'{split}_dataloader'].dataset.metainfo['classes'] \
            == classes
    assert cam.model.main_net.num_classes == 80
    assert stage2.model.decode_head.num_classes == 81
    assert stage2.model.auxiliary_head.num_classes == 81
    # 5 epochs of 82,081 images at batch 16, lr 0.1; stage 2 80k x 4 x 4
    assert cam.train_dataloader.batch_size == 16
    assert cam.train_cfg.max_iters == 5 * (82081 // 16)
    assert cam.optim_wrapper.optimizer.lr == 0.1
    assert cam.model.data_preprocessor.size == (512, 512)
    assert stage2.train_dataloader.batch_size == 4
    assert stage2.train_cfg.max_iters == 80000
    assert cam.test_dataloader.dataset.ann_file.endswith('train_subset.txt')
    pipeline = cam.train_dataloader.dataset.pipeline  # as cpu_options reads
    assert [pipeline[1].type, pipeline[5].type] == ['RandomResize',
                                                    'RandomCrop']


def cpu_options(root):
    """The CPU-sized overrides of the COCO configs (module docstring)."""
    loaders = [f'{x}_dataloader' for x in ('train', 'val', 'test')]
    return [
        *[f'{x}.dataset.data_root={root}' for x in loaders],
        *[f'{x}.num_workers=0' for x in loaders],
        *[f'{x}.persistent_workers=False' for x in loaders],
        'train_dataloader.batch_size=2',
        'train_dataloader.dataset.pipeline.1.scale=(96,96)',
        'train_dataloader.dataset.pipeline.1.ratio_range=(0.67,1.0)',
        'train_dataloader.dataset.pipeline.5.crop_size=(64,64)',
        'model.data_preprocessor.size=(64,64)',
        'model.main_net.backbone.init_cfg=None',
        f'train_cfg.max_iters={ITERS}', f'train_cfg.val_interval={ITERS}',
        f'param_scheduler.0.end={ITERS}',
        f'default_hooks.checkpoint.interval={ITERS}',
        'default_hooks.logger.interval=1',
        'pseudo_label_hook.num_workers=0',
    ]


# Runs tools/*.py one after the other in one process, each as its command
# line runs it (the imports, 6 s of CPU, are paid once): argv lists as JSON.
RUN_TOOLS = """import json, runpy, sys
for sys.argv in json.loads(sys.argv[1]):
    runpy.run_path(sys.argv[0], run_name='__main__')
"""


@pytest.fixture(scope='module')
def stage1(converted, tmp_path_factory) -> str:
    """The README's stage-1 commands of the plain CAM at CPU size: train,
    seeds on train_subset, pseudo masks; the work dir."""
    work = str(tmp_path_factory.mktemp('cam_r50_coco'))
    config, checkpoint = 'configs/cam_r50_coco.py', f'{work}/iter_{ITERS}.pth'
    options = ['--cfg-options', *cpu_options(converted)]
    commands = [
        ['tools/train.py', config, '--work-dir', work, *options],
        ['tools/test.py', config, checkpoint, '--work-dir', f'{work}/seeds',
         *options],
        ['tools/make_pseudo_labels.py', config, checkpoint, '--work-dir',
         work, *options]]
    result = subprocess.run([PYTHON, '-c', RUN_TOOLS, json.dumps(commands)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return work


def test_cam_config_trains_and_makes_pseudo_masks(stage1, converted):
    log = open(sorted(glob.glob(f'{stage1}/*/*.log'))[0]).read()
    assert f'Iter(train) [{ITERS}/{ITERS}]' in log
    assert 'cam/mIoU' in log and 'mAP' in log  # val: 2 images
    seeds = json.load(open(glob.glob(f'{stage1}/seeds/*/*.json')[0]))
    assert 0 <= seeds['cam/mIoU'] <= 100 and 'cam/crf_mIoU' in seeds
    assert 'Iter(test) [2/2]' in open(glob.glob(  # on train_subset
        f'{stage1}/seeds/*/*.log')[0]).read()
    out = osp.join(stage1, 'pseudo_labels')
    labels = json.load(open(osp.join(converted, 'cls_labels.json')))
    classes = tiny.CLASSES
    for name in read_split(converted, 'train'):
        mask = Image.open(osp.join(out, name + '.png'))
        assert mask.size == (tiny.W, tiny.H)
        allowed = {0} | {classes.index(c) for c in labels[name]}
        assert set(np.unique(np.array(mask))) <= allowed, name
    summary = json.load(open(out + '.json'))
    assert summary['images'] == 2  # train_subset
    assert summary['split'].endswith('train_subset.txt')
    assert json.load(open(osp.join(out, 'generation.json')))['complete']


def test_stage2_config_reads_pseudo_masks_and_val(stage1, converted):
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(CONFIGS, 'deeplabv3_r101_coco_pseudo.py'))
    train = cfg.train_dataloader.dataset
    train.update(data_root=converted)
    train.data_prefix.seg_map_path = osp.join(stage1, 'pseudo_labels')
    val = cfg.val_dataloader.dataset
    val.update(data_root=converted)
    datasets = [DATASETS.build(train), DATASETS.build(val)]
    for dataset, size in zip(datasets, (4, 2)):
        assert len(dataset) == size
        assert len(dataset.metainfo['classes']) == 81
        sample = dataset[0]
        values = set(np.unique(sample['data_samples'].gt_sem_seg.data))
        assert values <= set(range(81)) | {255}
        assert sample['inputs'].shape[0] == 3
    person_and_car = datasets[1][1]['data_samples'].gt_sem_seg.data
    assert set(np.unique(person_and_car)) == {0, 1, 3}


# --------------------------------------------------------------- README ---


def readme_coco_commands():
    """The commands of the README's COCO section, continuation lines
    joined."""
    text = open(osp.join(ROOT, 'README.md')).read()
    section = text.split('## Training on MS COCO 2014')[1].split('\n## ')[0]
    blocks = re.findall(r'```bash\n(.*?)```', section, re.S)
    lines = ' '.join(blocks).replace('\\\n', ' ').splitlines()
    return [line.split('#')[0].strip() for line in lines
            if line.strip().startswith(('python', 'bash'))]


def test_readme_coco_commands_name_existing_scripts_and_flags():
    commands = readme_coco_commands()
    assert any('make_coco2014_wsss.py' in c for c in commands)
    iters = Config.fromfile(osp.join(CONFIGS, 'cam_r50_coco.py')).train_cfg
    assert f'iter_{iters.max_iters}.pth' in ' '.join(commands)
    for command in commands:
        words = command.split()
        script = osp.join(ROOT, words[1])
        assert osp.isfile(script), command
        # the tools' shared options are in cli.py
        source = open(script).read() + open(osp.join(
            ROOT, 'projects', 'rcm_mam', 'utils', 'cli.py')).read()
        for word in words[2:]:
            if word.startswith('configs/'):
                assert osp.isfile(osp.join(ROOT, word)), command
            if word.startswith('--'):
                assert word.split('=')[0] in source, command
