"""The decide path's part in the learning queue (issue 19): every decision is counted towards the next
refit of its batch's (spec name, format), and every ``refit_every_decisions``-th queues one. The count is
made in the decision's transaction; the message is sent after it committed (a worker must see the
audits), and a broker that cannot be reached costs the refit, never the decision (ops can ask again)."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from api.deps import Dispatcher
from gtqa.settings import Settings
from gtqa.storage import count_decision

log = logging.getLogger(__name__)

RefitKey = tuple[str, str]


def count_for_refit(session: Session, settings: Settings, item_id: int) -> RefitKey | None:
    """Within the decision's transaction: the (spec name, format) whose refit is now due, if any."""
    return count_decision(session, item_id, every=settings.refit_every_decisions)


def send_refit(dispatcher: Dispatcher, key: RefitKey | None) -> None:
    """After the commit: queue the refit that became due (logged, not raised, when the broker is down)."""
    if key is None:
        return
    try:
        dispatcher.enqueue_refit(*key)
    except Exception:
        log.exception("could not queue the refit of %s/%s", key[0], key[1])
