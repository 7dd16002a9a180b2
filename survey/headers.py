"""Security headers on every response, set by Flask-Talisman.

The pages load only the app's own stylesheets and no script at all, so the policy allows
nothing inline and nothing from elsewhere, and no site may frame a page. Redirecting to
HTTPS is off by default: in production TLS ends at the proxy in front of gunicorn
(``FORCE_HTTPS`` turns Talisman's redirect on). HSTS is sent over HTTPS under
:class:`~survey.config.ProductionConfig` only, so a development server on plain HTTP never
teaches a browser to refuse it.
"""

from __future__ import annotations

from flask import Flask
from flask_talisman import Talisman

__all__ = ["CONTENT_SECURITY_POLICY", "init_headers"]

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# Requests within the site carry the referrer, nothing leaves it: a participant's link
# (which holds their secret) never reaches another site. Not no-referrer: over HTTPS
# Flask-WTF's CSRF check refuses a form POST without a same-origin Referer.
REFERRER_POLICY = "same-origin"


def init_headers(app: Flask) -> None:
    """Register Talisman on ``app`` with the policy above and the app's cookie settings."""
    config = app.config
    Talisman(
        app,
        force_https=config["FORCE_HTTPS"],
        strict_transport_security=config["HSTS"],
        strict_transport_security_max_age=config["HSTS_MAX_AGE"],
        strict_transport_security_include_subdomains=False,
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy=REFERRER_POLICY,
        x_content_type_options=True,
        # Talisman would otherwise force these cookie settings; survey.config owns them.
        session_cookie_secure=config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=config["SESSION_COOKIE_HTTPONLY"],
        session_cookie_samesite=config["SESSION_COOKIE_SAMESITE"],
    )
