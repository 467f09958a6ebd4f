"""The ops dashboard, in one folder: ``board`` assembles what it shows from ``gtqa.storage``'s counts
(``activity``, ``stats``) with the formulas of ``numbers`` (also written out on the page, in
``templates/dashboard.html``); ``page`` serves it as HTML, with the SVG ``charts``, and as CSV."""

from api.ui.dashboard.page import router

__all__ = ["router"]
