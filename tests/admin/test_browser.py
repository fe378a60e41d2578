"""A person at the admin in a real (headless) Chromium: log in, dashboard, open a payment,
refund it, see it refunded. Screenshots go to artifacts/screenshots/ (git-ignored)."""

import os
import shutil
from pathlib import Path

import pytest
from admin_stack import paid_payment, payment_row, stack_or_skip, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def test_operator_refunds_a_payment_in_the_browser() -> None:
    if not shutil.which(CHROMIUM):
        pytest.skip(f"needs Debian's chromium at {CHROMIUM} (`make admin-chromium`)")
    stack = stack_or_skip()
    from playwright.sync_api import expect, sync_playwright

    payment_id, _, _ = paid_payment(stack)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(f"{stack.admin}/admin/login/")
        page.fill("#id_username", stack.username)
        page.fill("#id_password", stack.password)
        page.click("button[type=submit]")
        expect(page.locator("#billing-dashboard")).to_be_visible()
        expect(page.locator("canvas.chart")).to_have_count(2)
        page.wait_for_timeout(500)  # let Chart.js draw before the picture
        page.screenshot(path=SHOTS / "dashboard.png", full_page=True)

        page.goto(f"{stack.admin}/admin/billing/payment/?q={payment_id}")
        page.click(f"a[href*='/{payment_id}/change/']")
        expect(page.locator(".timeline")).to_contain_text("PaymentSucceeded")
        page.click("a[href*='refund_detail']")
        expect(page.locator("#refund-left")).to_contain_text("499.00")
        page.click("#refund-submit")
        expect(page.get_by_text("sent.", exact=False)).to_be_visible()

        wait_for("refunded", lambda: (payment_row(stack, payment_id) or {}).get("refunded"), 90)
        page.reload()
        expect(page.locator(".refunds")).to_contain_text("succeeded")
        page.screenshot(path=SHOTS / "payment.png", full_page=True)
        browser.close()
