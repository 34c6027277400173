"""The FastAPI application: the JSON API under ``/api/v1`` and the planner pages.

A thin layer: every route authenticates, checks the role matrix
(:data:`emergency.service.access.PERMISSIONS`) and calls one service function.
"""
