"""`python -m consumers.subscriptions` — the supervisord program consumer-subscriptions."""

from consumers.app import main
from consumers.subscriptions.handler import CONSUMER, GROUP, build

if __name__ == "__main__":
    main(CONSUMER, GROUP, build)
