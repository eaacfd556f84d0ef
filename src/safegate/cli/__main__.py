"""``python -m safegate.cli``: the same commands as ``safegate``."""

from safegate.cli import main

main()
