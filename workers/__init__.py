"""gtqa workers: Celery processes that review a job's chunks; the database, not the broker, holds the truth.

One machine (SQLite and a filesystem broker under ``GTQA_HOME``, nothing else to run)::

    gtqa submit DATASET -p PREDICTIONS         # ingest a batch, create its review job, queue its chunks
    gtqa worker --beat                         # review them (and run the reconciler's schedule)

Several machines: ``GTQA_DATABASE_URL=postgresql+psycopg://…``, ``GTQA_BROKER_URL=redis://…``, then
``gtqa worker`` on every worker machine and ``gtqa beat`` once (see docker-compose.yml).

Modules: ``app`` (the lazily built Celery app and its configuration), ``tasks`` (the two thin tasks),
``review`` (one chunk: claim, review, finish), ``reconcile`` (the beat sweep), ``dispatch``
(``enqueue_job``), ``broker`` (queue and task names, sending on a given app; builds no app),
``runtime`` (what each worker process holds), ``plan`` (a job's spec, checks, statistics and scorer),
``source`` (frames from the database for the agent), ``ratelimit`` (the judge's request rate shared by
all workers), ``errors`` (what is transient).
"""
