"""Keeps SupportNet the exponential moving average of MainNet."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS


@HOOKS.register_module()
class SupportNetHook(Hook):
    """Start SupportNet equal to MainNet, then update it every optimizer step.

    At the start of a fresh training (iteration 0, also after ``load_from``
    of a previous stage) SupportNet is reset to a copy of MainNet, so both
    start from the same weights; a resumed run keeps the SupportNet of its
    checkpoint. After each iteration in which the optimizer stepped (with
    gradient accumulation, not every iteration), SupportNet takes one EMA
    step. Needs a model with ``reset_support_net`` and
    ``update_support_net`` (:class:`MainSupportCAMNet`).
    """
    priority = 'ABOVE_NORMAL'

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_train(self, runner) -> None:
        if runner.iter == 0:
            self._model(runner).reset_support_net()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if runner.optim_wrapper.should_update():
            self._model(runner).update_support_net()
