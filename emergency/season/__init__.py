"""The heating season: staggered production (错峰生产) and key periods (重点时段), scheduled."""
