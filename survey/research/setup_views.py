"""Research views: setup_views (being written)."""
