"""The pipeline's stages: the tools run by tools/run_pipeline.py and the
benchmarks, each once, resumable."""
from .stages import (StageRunner, data_options, walk_folder,
                     without_pseudo_label_hook)

__all__ = [
    'StageRunner', 'data_options', 'walk_folder', 'without_pseudo_label_hook'
]
