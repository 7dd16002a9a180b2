"""Research views: participant_views (being written)."""
