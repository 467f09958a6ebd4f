"""``python -m gtqa``: the ``gtqa`` command (what ``gtqa serve`` runs its worker and API with)."""

from gtqa.cli.main import main

main()
