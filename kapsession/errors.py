"""The errors a user can be shown. Messages are written for the therapist and never contain
clinical text (they may end up in a log)."""

# The exit status of a refusal the user can act on (bad input, a folder that cannot be used),
# from the command line and from the app's start alike.
EXIT_USAGE = 2


class KapsessionError(Exception):
    """Something the user must be told about, in one clear sentence."""


class DataFolderError(KapsessionError):
    """The data folder cannot be created, read or written."""


class NewerSchemaError(KapsessionError):
    """The database was written by a newer kapsession; it is left untouched."""


class AlreadyOpenError(KapsessionError):
    """Another kapsession is using this data folder."""


class InvalidEntry(KapsessionError, ValueError):
    """Input that must not be stored; the message names what is wrong."""


class StateError(KapsessionError):
    """The action does not fit the session's state (e.g. a second running session)."""


class WrongKey(KapsessionError):
    """The passphrase or key does not open this data folder. Nothing was opened, and nothing
    ever falls back to reading or writing it unencrypted."""


class NeedsKey(KapsessionError):
    """The data folder is encrypted and no key (passphrase) was given."""
