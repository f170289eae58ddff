"""The one exception type for bad user input.

Everything a user can get wrong (a sampler name, an option value, a topology that does not fit)
raises `ConfigError` with a one-line message that names the bad value and what is allowed.
The CLI turns it into that line on stderr and exit code 2.
"""


class ConfigError(ValueError):
    """Bad user input: the message names the bad value and what is allowed."""
