"""The eval harness: replay the reviewer on past audits, measure it, and compare two runs.

``run.run_eval`` (``gtqa evals run``) replays the agent on an eval dataset (``dataset``) and writes a
run file (``runfile``) of items (``records``) with metrics (``metrics``); ``compare.compare_runs``
(``gtqa evals compare``) pairs two runs (``pairing``) and tests their differences (``stats``), with
gates (``gate``) and an HTML report (``html``); ``store`` keeps every run.
"""
