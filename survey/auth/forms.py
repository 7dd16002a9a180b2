"""The login form (CSRF-protected like every FlaskForm)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length

from survey.auth.passwords import MAX_LENGTH


class LoginForm(FlaskForm):
    email = EmailField(
        "E-mail address",
        validators=[DataRequired("Enter your e-mail address."), Length(max=254)],
        render_kw={"autocomplete": "username", "autofocus": True},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()
    submit = SubmitField("Log in")


class LogoutForm(FlaskForm):
    """An empty form: logging out is a POST carrying the CSRF token."""

    submit = SubmitField("Log out")
