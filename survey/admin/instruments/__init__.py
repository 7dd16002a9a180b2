"""The instrument-version console of the admin area: /admin/instruments/..."""
