from .mam_loss import MAMLoss
from .rcm_loss import RCMLoss
from .support_loss import SupportLoss

__all__ = ['RCMLoss', 'MAMLoss', 'SupportLoss']
