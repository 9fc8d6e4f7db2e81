"""dispatch: mail-merge for formal invitation letters."""

__version__ = "0.1.0"
