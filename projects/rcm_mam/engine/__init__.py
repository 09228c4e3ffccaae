from .pseudo_label_hook import LABEL_FOLDERS, PseudoLabelHook
from .random_walk_label_hook import RandomWalkLabelHook
from .support_net_hook import SupportNetHook

__all__ = [
    'LABEL_FOLDERS', 'SupportNetHook', 'PseudoLabelHook',
    'RandomWalkLabelHook'
]
