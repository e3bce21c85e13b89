"""`python -m docbot`: the same as the `docbot` command."""

from docbot.cli import main

main()
