"""The admin area (/admin/...): users, the audit log, and (survey.admin.instruments) the
instrument versions. Admins only."""
