"""The one exception type for bad user input."""


class InputError(ValueError):
    """Bad input from the user: a data file, a config key or a checkpoint.

    The message names the offending file (or key) and says how to fix it.
    The command-line tools print it as one line instead of a traceback.
    """
