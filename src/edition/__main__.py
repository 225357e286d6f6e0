"""``python -m edition``: the command line, as the ``edition`` command gives it."""

from edition.cli import main

main(prog_name="edition")
