from .pseudo_label_hook import PseudoLabelHook
from .support_net_hook import SupportNetHook

__all__ = ['SupportNetHook', 'PseudoLabelHook']
