from .inference import inference_cams
from .inferencer import CAMInferencer

__all__ = ['CAMInferencer', 'inference_cams']
