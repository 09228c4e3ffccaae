from .pseudo_label_hook import PseudoLabelHook
from .random_walk_label_hook import RandomWalkLabelHook
from .support_net_hook import SupportNetHook

__all__ = ['SupportNetHook', 'PseudoLabelHook', 'RandomWalkLabelHook']
