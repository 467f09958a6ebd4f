"""``python -m cli``: the ``gtqa`` command (what ``gtqa serve`` runs its worker and API with)."""

from cli.main import main

main()
