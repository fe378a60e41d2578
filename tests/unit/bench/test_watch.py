"""The bench's watcher counts a role as granted only for a successful subscriber grant."""

from typing import Any

from bench.watch import Arrivals


def call(seq: int, method: str, user: str, ok: bool, body: Any) -> dict[str, Any]:
    path = f"/api/v1/users/{user}/roles" + ("/subscriber" if method == "DELETE" else "")
    return {"seq": seq, "method": method, "path": path, "user_id": user, "ok": ok, "body": body}


def test_only_a_successful_subscriber_grant_counts() -> None:
    seen = Arrivals()
    seen.read_calls(
        [
            call(1, "POST", "failed", False, {"role": "subscriber"}),
            call(2, "POST", "other-role", True, {"role": "admin"}),
            call(3, "DELETE", "revoked", True, None),
            call(4, "POST", "granted", True, {"role": "subscriber"}),
        ]
    )
    assert {u for u, e in seen.granted.items() if e.is_set()} == {"granted"}
    assert seen.auth_seq == 4


def test_a_receipt_marks_its_user_notified_and_moves_the_cursor() -> None:
    seen = Arrivals()
    seen.read_receipts([{"seq": 7, "user_id": "u1"}, {"seq": 9, "user_id": "u2"}])
    assert seen.notified["u1"].is_set() and seen.notified["u2"].is_set()
    assert not seen.notified["u3"].is_set()
    assert seen.notify_seq == 9
