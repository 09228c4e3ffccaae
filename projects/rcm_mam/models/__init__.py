from .cam_net import CAMNet, CAMOutput
from .losses import MAMLoss, RCMLoss
from .main_support_cam_net import MainSupportCAMNet

__all__ = ['CAMNet', 'CAMOutput', 'MainSupportCAMNet', 'RCMLoss', 'MAMLoss']
