"""A refused attempt's target is shown to an uncleared auditor only when it is made of ids: a path refused at the
edge for an id of another shape may carry any text (generated over the route table: every path parameter of
every command route)."""

from __future__ import annotations

from urllib.parse import quote

from tests.interfaces.conftest import api_routes

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def test_text_sent_as_a_path_id_reaches_no_uncleared_auditor(api, people):
    planted, firsts = [], []
    for route in api_routes(api.app.routes):
        for method in sorted(route.methods & WRITES):
            path = route.path
            for param in route.dependant.path_params:
                marker = f"MRKPATH{len(planted):03d} secret text"
                planted.append(marker.split()[0])
                path = path.replace("{" + param.name + "}", quote(marker))
            if path != route.path:
                firsts.append(f"MRKPATH{len(planted) - len(route.dependant.path_params):03d}")
                answer = api.request(method, path, json={}, headers=people.duty_officer)
                assert 400 <= answer.status_code < 500, (method, path, answer.status_code)
    assert len(planted) > 20

    def seen(headers: dict) -> set[str]:
        answer = api.get("/audit/refusals", params={"limit": 1000}, headers=headers)
        assert answer.status_code == 200, answer.text
        return {marker for marker in planted if marker in answer.text}

    assert seen(api.headers("AUD-1", "auditor")) == set()
    # while a cleared auditor reads each attempt's target (its first path id) as it was sent
    assert seen(api.headers("AUD-2", "auditor", clearance=True)) >= set(firsts)
