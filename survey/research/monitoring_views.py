"""Research views: monitoring_views (being written)."""
