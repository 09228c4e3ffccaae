# The synthetic configs' stand-in for ImageNet weights: ResNet-18 at half
# width (32 base channels) pretrained on Parts-64 by
# configs/pretrain/resnet18-w32_1xb64_parts64.py, shipped in pretrained/
# (fp16; its sha256 in pretrained/SHA256SUMS). Backbones take it with
#   init_cfg={{_base_.parts64_init}}
parts64_checkpoint = '{{ fileDirname }}/../../../pretrained/' \
    'resnet18-w32_parts64-30675b11.pth'
parts64_init = dict(
    type='Pretrained', checkpoint=parts64_checkpoint, prefix='backbone')
