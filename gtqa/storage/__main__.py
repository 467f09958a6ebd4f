"""``python -m gtqa.storage upgrade|downgrade|current|revision``: see gtqa.storage.migrate."""

from gtqa.storage.migrate import main

main()
