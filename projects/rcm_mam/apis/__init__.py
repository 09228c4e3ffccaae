from .stages import (StageRunner, data_options, walk_folder,
                     without_pseudo_label_hook)

__all__ = [
    'StageRunner', 'data_options', 'walk_folder', 'without_pseudo_label_hook'
]
