"""The participant area: public pages reached through a secret link, no account."""
