"""Notification sandbox: every receipt stored, repeated dedup_key flagged, faults."""

from __future__ import annotations

import uuid

import httpx


def notification(user_id: str, dedup_key: str) -> dict[str, object]:
    return {
        "user_id": user_id,
        "template": "payment_succeeded",
        "payload": {"amount": "499.00"},
        "dedup_key": dedup_key,
    }


async def test_repeated_dedup_key_is_stored_and_flagged_duplicate(
    notify: httpx.AsyncClient,
) -> None:
    user_id, key = str(uuid.uuid4()), str(uuid.uuid4())
    first = await notify.post("/api/v1/notifications", json=notification(user_id, key))
    second = await notify.post("/api/v1/notifications", json=notification(user_id, key))
    assert first.status_code == second.status_code == 202
    assert first.json()["duplicate"] is False
    assert second.json()["duplicate"] is True
    assert first.json()["id"] != second.json()["id"]
    items = (await notify.get("/api/v1/notifications", params={"user_id": user_id})).json()
    assert [i["duplicate"] for i in items["items"]] == [False, True]
    assert items["items"][0]["payload"] == {"amount": "499.00"}
    assert items["items"][0]["template"] == "payment_succeeded"


async def test_listing_filters_by_user_and_dedup_key(notify: httpx.AsyncClient) -> None:
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    key = str(uuid.uuid4())
    await notify.post("/api/v1/notifications", json=notification(alice, key))
    await notify.post("/api/v1/notifications", json=notification(bob, str(uuid.uuid4())))
    by_user = (await notify.get("/api/v1/notifications", params={"user_id": bob})).json()
    assert [i["user_id"] for i in by_user["items"]] == [bob]
    by_key = (await notify.get("/api/v1/notifications", params={"dedup_key": key})).json()
    assert [i["user_id"] for i in by_key["items"]] == [alice]


async def test_listing_after_a_seq_returns_only_later_receipts(
    notify: httpx.AsyncClient,
) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    await notify.post("/api/v1/notifications", json=notification(first, str(uuid.uuid4())))
    everything = (await notify.get("/api/v1/notifications")).json()["items"]
    seen = everything[-1]["seq"]
    assert everything[-1]["user_id"] == first
    await notify.post("/api/v1/notifications", json=notification(second, str(uuid.uuid4())))
    later = (await notify.get("/api/v1/notifications", params={"after": seen})).json()["items"]
    assert [i["user_id"] for i in later] == [second]
    assert later[0]["seq"] > seen
    bad = await notify.get("/api/v1/notifications", params={"after": -1})
    assert bad.status_code == 422
    tail = (await notify.get("/api/v1/notifications", params={"after": 2**63 - 1})).json()
    assert tail == {"items": [], "last_seq": later[0]["seq"]}


async def test_missing_dedup_key_is_422(notify: httpx.AsyncClient) -> None:
    body = notification(str(uuid.uuid4()), "x")
    del body["dedup_key"]
    assert (await notify.post("/api/v1/notifications", json=body)).status_code == 422


async def test_injected_error_is_503_and_stores_nothing(notify: httpx.AsyncClient) -> None:
    user_id = str(uuid.uuid4())
    assert (await notify.post("/sandbox/faults", json={"error_rate": 1.0})).status_code == 200
    response = await notify.post("/api/v1/notifications", json=notification(user_id, "k"))
    assert response.status_code == 503
    listed = (await notify.get("/api/v1/notifications", params={"user_id": user_id})).json()
    assert listed["items"] == []
    assert (await notify.delete("/sandbox/faults")).status_code == 200
    response = await notify.post("/api/v1/notifications", json=notification(user_id, "k"))
    assert response.json()["duplicate"] is False
