"""Notifications: subscriptions, the transactional outbox and the dispatcher.

- :mod:`emergency.notify.outbox` writes the notifications of a change in its transaction;
- :mod:`emergency.notify.subscriptions` registers where they go (webhooks);
- :mod:`emergency.notify.dispatch` delivers them (signed, retried, every attempt recorded);
- :mod:`emergency.notify.deliveries` shows a planner what reached whom.

See docs/NOTIFY.md.
"""
