"""The service flows as plain functions of a session and an actor.

The JSON API (``api/routers``) and the planner pages (``api/pages``) call the same
functions; each state-changing flow checks the role matrix, writes the audit log and
commits once at its end.

- consultation: :func:`emergency.service.consult.consult`
- responses: :mod:`emergency.service.responses` (list, detail, plan, override, release,
  public warning)
- orders: :mod:`emergency.service.orders` (approve, list, get, acknowledge, report)
- supervision: :func:`emergency.service.compliance.compliance`
- inventory: :mod:`emergency.service.inventory` (enterprises, plans, import, open_store)
- tokens: :mod:`emergency.service.tokens`; audit: :mod:`emergency.service.audit`
"""
