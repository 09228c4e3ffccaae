"""A progress bar that always ends its line, also when the work fails."""
from mmengine.utils import ProgressBar


class Progress(ProgressBar):
    """MMEngine's ``ProgressBar`` as a context manager.

    On leaving the ``with`` block, normally or by an exception, the bar's
    line is ended, so an error message printed next starts on a line of its
    own instead of after the bar's ``ETA:``.
    """

    def __enter__(self) -> 'Progress':
        return self

    def __exit__(self, *exc_info) -> None:
        self.file.write('\n')
        self.file.flush()
