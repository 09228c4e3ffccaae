"""The bad-input table of the README, one case per row.

Data errors are raised by the dataset while it is built (in-process here);
run errors come out of the tools as one ``error: ...`` line on stderr with
exit status 2 and no traceback.
"""
import io
import logging
import os
import os.path as osp
import subprocess
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import (PYTHON, ROOT, build_dataset, save_model_checkpoint,
                      tiny_config)
from projects.rcm_mam.datasets import voc_image_label
from projects.rcm_mam.engine import PseudoLabelHook
from projects.rcm_mam.utils import InputError, save_label_png

# ---------------------------------------------------------------- data ---


def error_of(root, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        build_dataset(root, **kwargs)
    return str(info.value)


def test_missing_data_root(tmp_path):
    message = error_of(str(tmp_path / 'nowhere'))
    assert 'nowhere: data_root does not exist' in message
    assert 'make_synthetic_voc' in message


def test_missing_split_file(root):
    message = error_of(root, split='train_ag')
    assert 'train_ag.txt: split file not found' in message


def test_missing_image(root):
    os.remove(osp.join(root, 'JPEGImages', '2007_000004.jpg'))
    message = error_of(root)
    assert '2007_000004.jpg: image listed in the split file does not ' \
        'exist' in message


@pytest.mark.parametrize('content,reason', [
    (b'', 'empty image file'),
    (b'GIF89a garbage', 'not a JPEG file'),
    ('truncate', 'truncated JPEG'),
])
def test_corrupt_jpeg(root, content, reason):
    path = osp.join(root, 'JPEGImages', '2007_000005.jpg')
    if content == 'truncate':
        content = open(path, 'rb').read()[:500]
    with open(path, 'wb') as f:
        f.write(content)
    message = error_of(root)
    assert f'2007_000005.jpg: {reason}' in message


def test_mask_value_out_of_range(root):
    path = osp.join(root, 'SegmentationClassAug', '2007_000006.png')
    label = np.zeros((10, 10), np.uint8)
    label[0, 0] = 21
    save_label_png(label, path, palette=None)
    message = error_of(root)
    assert '2007_000006.png: mask values [21] are outside the 21 classes' \
        in message


def save_16bit(label: np.ndarray, path: str) -> None:
    """A grayscale PNG of 16 bits a pixel (mode I;16), as some tools save."""
    Image.fromarray(label.astype(np.uint16)).save(path)
    assert Image.open(path).mode == 'I;16'


def test_16bit_masks_read_in_full_width(root):
    from projects.rcm_mam.datasets.transforms import LoadVerifiedAnnotations
    path = osp.join(root, 'SegmentationClassAug', '2007_000006.png')
    label = np.array(Image.open(path))
    before = build_dataset(root).get_data_info(6)
    save_16bit(label, path)
    # valid class indices: read as they are; the labels derived from the
    # masks are unchanged
    info = build_dataset(root).get_data_info(6)
    assert info['seg_map_path'] == path
    np.testing.assert_array_equal(info['gt_score'], before['gt_score'])
    load = LoadVerifiedAnnotations()
    results = load(dict(info, seg_fields=[], ori_shape=label.shape))
    np.testing.assert_array_equal(results['gt_seg_map'], label)
    # a class stored as 2048 (0 after mmseg's cast to uint8): refused by
    # the loader and by the label derivation alike
    wrong = label.astype(np.uint16)
    wrong[wrong == wrong[wrong < 255].max()] = 2048
    save_16bit(wrong, path)
    with pytest.raises(InputError, match=f'{path}: mask values \\[2048\\] '
                       'are outside the 21 classes'):
        load(dict(info, seg_fields=[], ori_shape=label.shape))
    assert f'{path}: mask values [2048] are outside' in error_of(root)


def test_palette_mask_with_renumbered_indices(root):
    """Indices renumbered with the palette: the picture looks the same, the
    classes are others."""
    from projects.rcm_mam.datasets.transforms import LoadVerifiedAnnotations
    path = osp.join(root, 'SegmentationClass', '2007_000006.png')
    image = Image.open(path)
    label, colours = np.array(image), image.getpalette()
    cls = int(label[(label > 0) & (label < 255)].max())
    other = 1 if cls != 1 else 2  # cls drawn as index `other`
    swapped = label.copy()
    swapped[label == cls], swapped[label == other] = other, cls
    colours[3 * cls:3 * cls + 3], colours[3 * other:3 * other + 3] = \
        colours[3 * other:3 * other + 3], colours[3 * cls:3 * cls + 3]
    renumbered = Image.fromarray(swapped, mode='P')
    renumbered.putpalette(colours)
    renumbered.save(path)
    assert np.array_equal(np.array(renumbered.convert('RGB')),
                          np.array(image.convert('RGB')))
    masks = dict(data_prefix=dict(img_path='JPEGImages',
                                  seg_map_path='SegmentationClass'))
    message = error_of(root, **masks)
    assert f'{path}: palette mask whose colours disagree with the data ' \
        f"set's classes (index {other}: " in message
    assert 'palette_check=False' in message
    info = build_dataset(root, label_file='cls_labels.json',
                         **masks).get_data_info(6)
    with pytest.raises(InputError, match='palette mask whose colours'):
        LoadVerifiedAnnotations()(dict(info, seg_fields=[],
                                       ori_shape=label.shape))
    # read by index when the user says so
    data = build_dataset(root, palette_check=False, **masks)
    assert data.get_data_info(6)['gt_score'][other - 1] == 1


@pytest.mark.parametrize('config', ['deeplabv3_r101_voc_pseudo.py',
                                    'synthetic/deeplabv3_r18_synthetic_'
                                    'pseudo.py'])
def test_stage2_val_set_checks_its_files(root, config):
    """The stage-2 configs keep mmseg's loaders (for its inferencer); their
    data sets check the files when built."""
    from mmengine.config import Config
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(osp.join(ROOT, 'configs', config)).val_dataloader
    cfg.dataset.data_root = root
    assert cfg.dataset.pipeline[0]['type'] == 'LoadImageFromFile'
    split = osp.join(root, 'ImageSets', 'Segmentation', 'val.txt')
    names = open(split).read().split()
    image = osp.join(root, 'JPEGImages', names[1] + '.jpg')
    open(image, 'wb').close()  # zero bytes
    with pytest.raises(InputError, match=f'{image}: empty image file'):
        DATASETS.build(cfg.dataset)
    open(split, 'w').write('\n'.join([names[0] + 'x'] + names[2:]) + '\n')
    with pytest.raises(InputError, match=f'{names[0]}x.jpg: image listed in '
                       'the split file does not exist'):
        DATASETS.build(cfg.dataset)


def test_misspelt_name_is_a_missing_image_not_label(root):
    split = osp.join(root, 'ImageSets', 'Segmentation', 'train.txt')
    names = open(split).read().split()
    open(split, 'w').write('\n'.join(names + ['2007_00001']) + '\n')
    message = error_of(root, label_file='cls_labels.json')
    assert '2007_00001.jpg: image listed in the split file does not ' \
        'exist' in message


def test_png_under_a_jpeg_name(root):
    path = osp.join(root, 'JPEGImages', '2007_000005.jpg')
    Image.open(path).save(path, format='PNG')
    assert '2007_000005.jpg: a PNG file under a JPEG name. Fix: convert ' \
        'it to JPEG' in error_of(root)


def test_missing_label_file_says_how_to_use_the_masks(root):
    message = error_of(root, label_file='my_labels.json')
    assert 'my_labels.json: label file not found' in message
    assert 'train_dataloader.dataset.label_file=None' in message


def test_label_tool_on_a_read_only_root(root, monkeypatch, capsys):
    import sys

    from projects.rcm_mam.utils import cli
    from tools import make_voc_labels

    def read_only(*args):
        raise PermissionError(13, 'Permission denied')

    monkeypatch.setattr(make_voc_labels, 'write_label_file', read_only)
    monkeypatch.setattr(sys, 'argv', ['make_voc_labels.py', root])
    with pytest.raises(SystemExit) as exit_:
        cli.run(make_voc_labels.main)
    assert exit_.value.code == 2
    assert 'cls_labels.json: cannot write the label file (Permission ' \
        'denied). Fix: pass --out with a writable path' in \
        capsys.readouterr().err


def test_truncated_mask(root):
    path = osp.join(root, 'SegmentationClassAug', '2007_000007.png')
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    assert '2007_000007.png: unreadable mask' in error_of(root)


@pytest.mark.parametrize('bad', ['../escape', '/etc/passwd', 'a/../../b'])
def test_unsafe_names_are_rejected(root, bad):
    with open(osp.join(root, 'ImageSets/Segmentation/train.txt'), 'a') as f:
        f.write(bad + '\n')
    assert 'is not a plain relative name' in error_of(root)


def test_image_without_foreground_is_skipped_with_warning(root, monkeypatch):
    logged = []
    monkeypatch.setattr(voc_image_label, 'print_log',
                        lambda msg, **kwargs: logged.append((msg, kwargs)))
    name = '2007_000003'
    path = osp.join(root, 'SegmentationClassAug', name + '.png')
    save_label_png(np.zeros((10, 10), np.uint8), path, palette=None)
    dataset = build_dataset(root)
    assert len(dataset) == 11
    assert name not in [i['img_name'] for i in dataset]
    (message, kwargs), = logged
    assert 'skipped 1 images with no foreground class' in message
    assert name in message and kwargs['level'] == logging.WARNING


def test_byte_order_mark_in_split_file(root):
    path = osp.join(root, 'ImageSets/Segmentation/train.txt')
    text = open(path).read()
    with open(path, 'w', encoding='utf-8-sig') as f:
        f.write(text)
    dataset = build_dataset(root)
    assert dataset[0]['img_name'] == text.split()[0]


def test_image_listed_twice(root):
    path = osp.join(root, 'ImageSets/Segmentation/train.txt')
    first = open(path).read().split()[1]
    with open(path, 'a') as f:
        f.write(first + '\n')
    message = error_of(root)
    assert f"train.txt:13: '{first}' is listed again (first on line 2)" \
        in message and 'Fix: remove the repeated line' in message


def test_empty_split_file(root):
    open(osp.join(root, 'ImageSets/Segmentation/train.txt'), 'w').close()
    message = error_of(root)
    assert 'train.txt: split file lists no image. Fix: write one image ' \
        'name per line' in message


def test_rgb_mask(root):
    path = osp.join(root, 'SegmentationClassAug', '2007_000006.png')
    Image.fromarray(np.full((10, 10, 3), 128, np.uint8)).save(path)
    message = error_of(root)
    assert '2007_000006.png: mask of RGB colours, not class indices. Fix: ' \
        'convert the colours to indices with python ' \
        'tools/convert_rgb_masks.py' in message


@pytest.mark.parametrize('out_dir', ['../out', '/tmp/out', 'a/../../out'])
def test_pseudo_labels_stay_in_the_work_dir(out_dir):
    with pytest.raises(InputError, match='is not a plain relative name'):
        PseudoLabelHook(out_dir=out_dir)

# ----------------------------------------------------------------- run ---


@pytest.fixture(scope='module')
def cli_case(voc_root, tmp_path_factory):
    """A tiny config, a checkpoint that fits it and one that does not."""
    tmp = tmp_path_factory.mktemp('cli')
    config = tiny_config(tmp / 'cfg.py', voc_root,
                         'synthetic/cam_r18_synthetic.py')
    save_model_checkpoint(config, tmp / 'fits.pth')
    torch.save(dict(state_dict={'backbone.conv1.weight': torch.zeros(1)}),
               tmp / 'other.pth')
    data = (tmp / 'fits.pth').read_bytes()
    (tmp / 'truncated.pth').write_bytes(data[:len(data) // 2])
    state = torch.load(tmp / 'fits.pth', weights_only=False)['state_dict']
    torch.save(dict(state_dict={k: v for k, v in state.items()  # no MainNet
                                if k.startswith('support_net.')}),
               tmp / 'support_only.pth')
    blocked = tmp / 'no_crf' / 'pydensecrf'
    blocked.mkdir(parents=True)
    (blocked / '__init__.py').write_text('raise ImportError("blocked")\n')
    (tmp / 'a_file').write_text('')
    return tmp, config


def tool_error(args, env=None) -> str:
    """Run a tool expecting bad input: the single line it prints."""
    result = subprocess.run([PYTHON, *args], cwd=ROOT, capture_output=True,
                            text=True, env=dict(os.environ, **(env or {})))
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('error: ') and 'Fix:' in last, last
    return last


# (case, tool and arguments, expected in the message); {tmp} is the case's
# folder, {config} its config
RUN_CASES = [
    ('missing config', ['tools/train.py', '{tmp}/gone.py'],
     '{tmp}/gone.py: config file not found'),
    ('missing data root',
     ['tools/train.py', '{config}', '--cfg-options',
      'train_dataloader.dataset.data_root={tmp}/nowhere'],
     '{tmp}/nowhere: data_root does not exist'),
    ('data root with a space',
     ['tools/train.py', '{config}', '--cfg-options',
      'train_dataloader.dataset.data_root={tmp}/my voc'],
     '{tmp}/my voc: data_root does not exist'),
    ('config key typo',
     ['tools/train.py', '{config}', '--cfg-options',
      'model.loss_cls.use_sigmod=True'],
     "CrossEntropyLoss.__init__() got an unexpected keyword argument "
     "'use_sigmod'. Fix: correct the key in the config or in "
     "--cfg-options."),
    ('option off the config',
     ['tools/train.py', '{config}', '--cfg-options', 'custom_hooks.5.a=1'],
     'cfg.py: --cfg-options do not fit the config: Index 5 exceeds'),
    ('option into a field the config sets to None',
     ['tools/train.py', '{config}', '--cfg-options',
      'val_dataloader.dataset.data_root={tmp}'],
     'cfg.py: --cfg-options do not fit the config: val_dataloader='),
    ('missing checkpoint', ['tools/test.py', '{config}', '{tmp}/gone.pth'],
     '{tmp}/gone.pth: checkpoint not found'),
    ('incompatible checkpoint',
     ['tools/test.py', '{config}', '{tmp}/other.pth'],
     '{tmp}/other.pth: checkpoint does not fit the model of the config'),
    ('checkpoint without MainNet',
     ['tools/test.py', '{config}', '{tmp}/support_only.pth'],
     '{tmp}/support_only.pth: checkpoint does not fit the model of the '
     'config: only 0 of the'),
    ('checkpoint without MainNet, pseudo masks',
     ['tools/make_pseudo_labels.py', '{config}', '{tmp}/support_only.pth',
      '--work-dir', '{tmp}/masks'],
     '{tmp}/support_only.pth: checkpoint does not fit'),
    ('truncated checkpoint', ['tools/test.py', '{config}',
                              '{tmp}/truncated.pth'],
     '{tmp}/truncated.pth: truncated checkpoint'),
    ('truncated checkpoint, pseudo masks',
     ['tools/make_pseudo_labels.py', '{config}', '{tmp}/truncated.pth',
      '--work-dir', '{tmp}/masks'],
     '{tmp}/truncated.pth: truncated checkpoint'),
    ('truncated checkpoint, load_from',
     ['tools/train.py', '{config}', '--work-dir', '{tmp}/from',
      '--cfg-options', 'load_from={tmp}/truncated.pth'],
     '{tmp}/truncated.pth: truncated checkpoint'),
    ('unwritable work dir',
     ['tools/train.py', '{config}', '--work-dir', '{tmp}/a_file/work'],
     '{tmp}/a_file/work: cannot write to the work dir'),
    ('CRF asked for, not installed',
     ['tools/test.py', '{config}', '{tmp}/fits.pth', '--work-dir',
      '{tmp}/test'],
     'dense CRF is switched on (crf=...) but pydensecrf is not installed'),
]


@pytest.mark.slow
@pytest.mark.parametrize('case,args,expected', RUN_CASES,
                         ids=[c[0] for c in RUN_CASES])
def test_tool_reports_bad_input(cli_case, case, args, expected):
    tmp, config = cli_case
    args = [a.format(tmp=tmp, config=config) for a in args]
    env = dict(PYTHONPATH=str(tmp / 'no_crf')) if 'CRF' in case else None
    assert expected.format(tmp=tmp) in tool_error(args, env)


def merged_output(args) -> str:
    """A tool expected to fail on bad input: stdout and stderr as one."""
    result = subprocess.run([PYTHON, *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert result.returncode == 2, result.stdout[-3000:]
    assert 'Traceback' not in result.stdout, result.stdout[-3000:]
    return result.stdout


@pytest.mark.slow
def test_second_run_into_a_busy_folder_is_refused(cli_case):
    """Two trainings with one --work-dir, two pseudo-mask generations into
    one folder: the second is refused while the first holds the folder."""
    tmp, config = cli_case
    work = tmp / 'busy'
    holder = subprocess.Popen(
        [PYTHON, '-c', 'import sys, time; sys.path.insert(0, sys.argv[1]); '
         'from projects.rcm_mam.utils.folder_lock import lock_folder; '
         'lock_folder(sys.argv[2], "training"); '
         'lock_folder(sys.argv[3], "pseudo-mask generation"); '
         'print("held", flush=True); time.sleep(600)', ROOT, str(work),
         str(work / 'pseudo_labels')], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'held'
        message = tool_error(['tools/train.py', config, '--work-dir',
                              str(work)])
        assert f'{work} is in use by another run (training, pid ' \
            f'{holder.pid}' in message
        message = tool_error(['tools/make_pseudo_labels.py', config,
                              str(tmp / 'fits.pth'), '--work-dir',
                              str(work), '--no-crf'])
        assert f'{work / "pseudo_labels"} is in use by another run ' \
            '(pseudo-mask generation' in message
    finally:
        holder.kill()
        holder.wait()
    # released with its process: the folder is free again
    from projects.rcm_mam.utils.folder_lock import lock_folder
    lock_folder(str(work), 'test')


@pytest.mark.slow
def test_error_during_a_progress_bar_starts_its_own_line(cli_case, root):
    tmp, config = cli_case
    save_label_png(np.full((10, 10), 21, np.uint8),
                   osp.join(root, 'SegmentationClass', '2007_000006.png'))
    output = merged_output([  # labels derived from masks: a progress bar
        'tools/train.py', config, '--work-dir', str(tmp / 'bar'),
        '--cfg-options', f'train_dataloader.dataset.data_root={root}',
        'train_dataloader.dataset.ann_file=ImageSets/Segmentation/train.txt',
        'train_dataloader.dataset.label_file=None'])
    assert 'ETA:' in output  # the bar was drawing
    line = next(x for x in output.splitlines() if 'error:' in x)
    assert line.startswith('error: ') and 'mask values [21]' in line


@pytest.mark.slow
def test_corrupt_image_in_pseudo_labels(cli_case, root):
    tmp, config = cli_case
    path = osp.join(root, 'JPEGImages', '2007_000003.jpg')
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:  # valid markers: caught when read
        f.write(data[:2] + b'\x00' * 100 + data[-2:])
    output = merged_output([
        'tools/make_pseudo_labels.py', config, str(tmp / 'fits.pth'),
        '--work-dir', str(tmp / 'corrupt'), '--no-crf', '--cfg-options',
        f'test_dataloader.dataset.data_root={root}'])
    assert output.strip().splitlines()[-1].startswith(
        f'error: {path}: corrupt image')


# ------------------------------------------------------ EXIF orientation ---

TEST_PIPELINE = [dict(type='LoadVerifiedImageFromFile'),
                 dict(type='LoadVerifiedAnnotations'),
                 dict(type='PackWSSSInputs')]


def tag_orientation(root, orientation: int = 6) -> str:
    """Re-save the first non-square train image with an EXIF orientation
    tag (a phone photo held upright); its name."""
    names = open(osp.join(root, 'ImageSets/Segmentation/train.txt')).read()
    for name in names.split():
        path = osp.join(root, 'JPEGImages', name + '.jpg')
        image = Image.open(path)
        if image.width != image.height:
            exif = Image.Exif()
            exif[0x0112] = orientation
            image.save(path, exif=exif, quality=95)
            return name
    raise AssertionError('no non-square image')


def with_pipeline(root, pipeline):
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    return build_dataset(root, pipeline=pipeline)


def test_exif_orientation_is_ignored_by_default(root):
    name = tag_orientation(root)
    dataset = with_pipeline(root, TEST_PIPELINE)
    index = [dataset.get_data_info(i)['img_name']
             for i in range(len(dataset))].index(name)
    sample = dataset[index]
    stored = Image.open(osp.join(root, 'JPEGImages', name + '.jpg')).size
    assert tuple(sample['inputs'].shape[1:]) == stored[::-1]
    assert sample['data_samples'].gt_sem_seg.shape == stored[::-1]


def test_exif_rotated_image_and_stored_mask_disagree(root):
    name = tag_orientation(root)
    pipeline = [dict(TEST_PIPELINE[0], color_type='color'), *TEST_PIPELINE[1:]]
    dataset = with_pipeline(root, pipeline)
    index = [dataset.get_data_info(i)['img_name']
             for i in range(len(dataset))].index(name)
    with pytest.raises(InputError) as info:
        dataset[index]
    assert f'{name}.png: mask is ' in str(info.value)
    assert 'as loaded (EXIF orientation 6 applied). Fix: load the images ' \
        "with color_type='color_ignore_orientation'" in str(info.value)


def test_exif_pseudo_mask_has_stored_size_and_resumes(root, tmp_path):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    name = tag_orientation(root)
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'synthetic',
                                   'rcm_mam_r18_synthetic.py'))
    cfg.test_dataloader.dataset.data_root = root
    cfg.model.test_cfg = dict(scales=(1.0, ), flip=False, bg_threshold=0.3)
    runner = SimpleNamespace(cfg=cfg, model=MODELS.build(cfg.model),
                             work_dir=str(tmp_path))
    hook = PseudoLabelHook(ann_file='ImageSets/Segmentation/train.txt',
                           num_workers=0, num_overlays=0)
    hook.generate(runner)  # scores train.txt: image and mask sizes agree
    mask = osp.join(str(tmp_path), 'pseudo_labels', name + '.png')
    stored = Image.open(osp.join(root, 'JPEGImages', name + '.jpg')).size
    assert Image.open(mask).size == stored
    stamp = os.stat(mask).st_mtime_ns
    hook.generate(runner)
    assert os.stat(mask).st_mtime_ns == stamp  # resumed, not rewritten


# ------------------------------------------------- files, paths, messages ---

@pytest.mark.parametrize('umask,mode', [(0o022, 0o644), (0o077, 0o600)])
def test_written_files_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path = str(tmp_path / 'mask.png')
        save_label_png(np.zeros((4, 4), np.uint8), path)
    finally:
        os.umask(old)
    assert os.stat(path).st_mode & 0o777 == mode
    assert os.listdir(tmp_path) == ['mask.png']  # no temporary file left


def test_error_starts_a_line_of_its_own():
    from projects.rcm_mam.utils.progress import Progress
    out = io.StringIO()
    with pytest.raises(InputError):
        with Progress(3, file=out) as progress:
            progress.update()
            raise InputError('bad')
    assert '1/3' in out.getvalue() and out.getvalue().endswith('s\n')


@pytest.mark.parametrize('value,parsed', [
    ('/data/my voc/VOC2012', '/data/my voc/VOC2012'),
    ('"/data/my voc"', '/data/my voc'),
    ('[0.5, 1.0]', [0.5, 1.0]),
    ('(1, 2)', (1, 2)),
    ('0.25', 0.25),
])
def test_cfg_options_keep_spaces_in_paths(value, parsed):
    from projects.rcm_mam.utils.cli import PathDictAction
    assert PathDictAction._parse_iterable(value) == parsed


def test_cfg_options_refuse_a_list_element_with_a_space():
    from projects.rcm_mam.utils.cli import PathDictAction
    with pytest.raises(InputError, match="the list '\\[/a b, c\\]' has an "
                       'element with a space inside'):
        PathDictAction._parse_iterable('[/a b, c]')


def test_rgb_masks_convert_to_indices(tmp_path):
    from projects.rcm_mam.utils.file_io import voc_palette
    label = np.array([[0, 1, 15], [20, 255, 0]], np.uint8)
    (tmp_path / 'rgb').mkdir()
    colours = voc_palette(256)[label]
    colours[1, 1] = 255  # white boundary, as some tools draw it
    Image.fromarray(colours).save(tmp_path / 'rgb' / 'a.png')
    subprocess.run([PYTHON, 'tools/convert_rgb_masks.py',
                    str(tmp_path / 'rgb'), str(tmp_path / 'out')], cwd=ROOT,
                   check=True, capture_output=True)
    converted = Image.open(tmp_path / 'out' / 'a.png')
    assert converted.mode == 'P'
    np.testing.assert_array_equal(np.array(converted), label)


# ---------------------------------------------------------- huge images ---

def test_huge_image_cams_are_computed_at_the_bound(monkeypatch):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample

    from projects.rcm_mam.models import main_support_cam_net
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'synthetic',
                                   'rcm_mam_r18_synthetic.py'))
    model = MODELS.build(cfg.model).eval()
    sizes, logged = [], []
    forward = model.main_net.forward
    monkeypatch.setattr(model.main_net, 'forward', lambda x: sizes.append(
        tuple(x.shape[-2:])) or forward(x))
    monkeypatch.setattr(main_support_cam_net, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))

    def predict(limit, size):
        model.test_cfg = dict(scales=(1.0, ), flip=False, bg_threshold=0.2,
                              max_long_side=limit)
        sample = SegDataSample(metainfo=dict(img_shape=size, ori_shape=size,
                                             img_path='photo.jpg'))
        sample.gt_score = torch.zeros(20)
        sample.gt_score[3] = 1
        with torch.no_grad():
            return model.predict(torch.ones(1, 3, *size), [sample])[0]

    out = predict(64, (96, 128))
    assert sizes == [(48, 64)] and out.seg_logits.data.shape == (21, 96, 128)
    assert logged == ['photo.jpg: 96x128 pixels, more than test_cfg.'
                      'max_long_side=64: its CAMs are computed at 48x64 '
                      'and resized back.']
    # below the bound nothing changes
    torch.testing.assert_close(predict(128, (96, 128)).seg_logits.data,
                               predict(None, (96, 128)).seg_logits.data)
    assert len(logged) == 1
