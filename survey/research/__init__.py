"""The research area (/research/...): a researcher's own studies (admins see all)."""
