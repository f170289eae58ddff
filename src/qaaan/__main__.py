"""``python -m qaaan`` runs the command line; torchrun needs it: ``torchrun -m qaaan train``."""

from qaaan.cli import app

app()
