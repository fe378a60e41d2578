"""`python -m consumers.notifications` — the supervisord program consumer-notifications."""

from consumers.app import main
from consumers.notifications.handler import CONSUMER, GROUP, build

if __name__ == "__main__":
    main(CONSUMER, GROUP, build)
