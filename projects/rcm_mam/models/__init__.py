from .affinity_net import AffinityNet
from .cam_net import CAMNet, CAMOutput
from .irn_boundary_net import IRNBoundaryNet
from .losses import AffinityLoss, MAMLoss, RCMLoss
from .main_support_cam_net import MainSupportCAMNet
from .resnet38d import ResNet38d

__all__ = [
    'AffinityLoss', 'AffinityNet', 'CAMNet', 'CAMOutput', 'IRNBoundaryNet',
    'MainSupportCAMNet', 'RCMLoss', 'MAMLoss', 'ResNet38d'
]
