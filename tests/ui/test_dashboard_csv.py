"""The dashboard's CSV goes through the one CSV writer: names that come from outside (vendors, teams)
can never become spreadsheet formulas."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from api.app import create_app
from api.exports.csvfile import csv_line, safe_cell

HOSTILE = '=HYPERLINK("http://evil.test","open me")'


def test_text_that_a_spreadsheet_would_run_is_kept_as_text() -> None:
    for formula in ("=1+1", "+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1"):
        assert safe_cell(formula) == "'" + formula
    assert safe_cell("acme") == "acme" and safe_cell(-1.5) == -1.5
    assert csv_line(["=1", 2]) == "'=1,2\n"


def test_the_dashboard_csv_escapes_vendor_and_team_names(store) -> None:
    store.seed(vendor=HOSTILE, team="@team")
    with TestClient(create_app(store.settings)) as client:
        headers = {"Authorization": f"Bearer {store.tokens['ops']}"}
        response = client.get("/ui/dashboard.csv", headers=headers)
    assert response.status_code == 200, response.text
    cells = {c for row in csv.reader(io.StringIO(response.text)) for c in row}
    assert "'" + HOSTILE in cells and "'@team" in cells
    assert not any(c.startswith(("=", "@", "+")) for c in cells)
