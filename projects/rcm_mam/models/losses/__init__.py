from .mam_loss import MAMLoss
from .rcm_loss import RCMLoss

__all__ = ['RCMLoss', 'MAMLoss']
