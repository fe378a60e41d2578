"""The journal's NOTIFY payload: the payments its events are about, or '' to wake every wait."""

from processors.journal import Journal
from schemas.messages import PaymentFailed
from tests.events import payment_failed


def failed() -> PaymentFailed:
    return payment_failed()


def test_the_payload_lists_each_payment_once() -> None:
    journal, event = Journal(), failed()
    journal.append(event, topic="t", key="k", payment_id=event.payment_id)
    journal.append(failed(), topic="t", key="k", payment_id=event.payment_id)
    assert journal.about() == str(event.payment_id)


def test_an_event_about_no_payment_wakes_every_wait() -> None:
    journal, event = Journal(), failed()
    journal.append(event, topic="t", key="k", payment_id=event.payment_id)
    journal.append(failed(), topic="t", key="k")
    assert journal.about() == ""


def test_a_list_too_long_for_a_notify_wakes_every_wait() -> None:
    journal = Journal()
    for _ in range(200):
        event = failed()
        journal.append(event, topic="t", key="k", payment_id=event.payment_id)
    assert journal.about() == ""
    assert Journal().about() == ""
