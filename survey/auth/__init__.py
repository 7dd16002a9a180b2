"""Staff accounts: login and logout, the session's user, and the role checks of every view."""
