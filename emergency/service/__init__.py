"""The service flows as plain functions of a session and an actor.

The JSON API (``api/routers``) and the planner pages (``api/pages``) call the same
functions; each state-changing flow checks the role matrix, writes the audit log and
commits once at its end.

- consultation: :func:`emergency.service.consult.consult`
- responses: :mod:`emergency.service.responses` (list, detail, plan, release, public
  warning); overrides: :mod:`emergency.service.overrides`
- orders: :mod:`emergency.service.orders` (approve, list, get, acknowledge, report)
- supervision: :func:`emergency.service.compliance.compliance`
- enterprises: :mod:`emergency.service.enterprises` (the inventory, plans in force,
  import, open_store); plans under review: :mod:`emergency.service.plan_review`
- browser sessions: :mod:`emergency.service.sessions`
- tokens: :mod:`emergency.service.tokens`; audit: :mod:`emergency.service.audit`
"""
