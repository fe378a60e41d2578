"""Simulators of the outside world: the YooKassa-compatible provider, Auth and Notifications.

Each simulator is a small FastAPI app built by ``create_app(settings)`` and run by its
``__main__``; nothing happens at import time. State lives in SQLite so that a simulator
killed with ``kill -9`` comes back with everything it acknowledged.
"""
