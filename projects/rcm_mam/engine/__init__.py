from .support_net_hook import SupportNetHook

__all__ = ['SupportNetHook']
