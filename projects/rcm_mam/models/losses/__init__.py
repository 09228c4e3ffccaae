from .affinity_loss import AffinityLoss
from .mam_loss import MAMLoss
from .rcm_loss import RCMLoss
from .support_loss import SupportLoss

__all__ = ['AffinityLoss', 'RCMLoss', 'MAMLoss', 'SupportLoss']
