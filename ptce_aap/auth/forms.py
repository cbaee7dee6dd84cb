"""Account forms. Every message is French; password rules come from ``passwords.password_problems``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, ValidationError

from ptce_aap.form_validators import SingleLineName
from ptce_aap.passwords import password_problems


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _lower(value):
    return value.strip().lower() if isinstance(value, str) else value


def email_field(label=None):
    return EmailField(
        label or _l("Adresse électronique"),
        filters=[_lower],
        validators=[
            DataRequired(_l("Indiquez votre adresse électronique.")),
            Length(max=254, message=_l("L'adresse électronique ne doit pas dépasser 254 caractères.")),
            Email(_l("Indiquez une adresse électronique valide, par exemple nom@exemple.fr.")),
        ],
    )


def _check_password_rules(password: str, email: str) -> None:
    problems = password_problems(password or "", email=email or "")
    if problems:
        raise ValidationError(" ".join(problems))


def _confirmation(label):
    return PasswordField(label, validators=[
        InputRequired(_l("Saisissez une seconde fois le mot de passe.")),
        EqualTo("password", _l("Les deux mots de passe ne sont pas identiques.")),
    ])


class RegisterForm(FlaskForm):
    full_name = StringField(_l("Prénom et nom"), filters=[_strip], validators=[
        DataRequired(_l("Indiquez votre prénom et votre nom.")),
        Length(max=200, message=_l("Le nom ne doit pas dépasser 200 caractères.")),
        SingleLineName(200),
    ])
    email = email_field()
    password = PasswordField(_l("Mot de passe"), validators=[InputRequired(_l("Choisissez un mot de passe."))])
    password_confirm = _confirmation(_l("Confirmation du mot de passe"))
    accept_terms = BooleanField(
        _l("J’accepte les conditions d’utilisation de la plateforme"),
        validators=[DataRequired(_l("Vous devez accepter les conditions d’utilisation pour créer un compte."))],
    )

    def validate_password(self, field):
        _check_password_rules(field.data, self.email.data)


class LoginForm(FlaskForm):
    email = email_field()
    password = PasswordField(_l("Mot de passe"), validators=[InputRequired(_l("Saisissez votre mot de passe."))])


class EmailForm(FlaskForm):
    """Forgotten password and new verification link: just an address."""

    email = email_field()


class _NewPasswordForm(FlaskForm):
    """A new password and its confirmation, checked against the rules for the account's own address."""

    password = PasswordField(_l("Nouveau mot de passe"),
                             validators=[InputRequired(_l("Choisissez un mot de passe."))])
    password_confirm = _confirmation(_l("Confirmation du nouveau mot de passe"))

    def __init__(self, *args, owner_email: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.owner_email = owner_email

    def validate_password(self, field):
        _check_password_rules(field.data, self.owner_email)


class ResetPasswordForm(_NewPasswordForm):
    pass


class ConfirmEmailForm(FlaskForm):
    """The page a verification link opens: the link proves the mailbox, the password who registered."""

    password = PasswordField(_l("Mot de passe choisi à l’inscription"),
                             validators=[InputRequired(_l("Saisissez votre mot de passe."))])


class ChangePasswordForm(_NewPasswordForm):
    current_password = PasswordField(_l("Mot de passe actuel"),
                                     validators=[InputRequired(_l("Saisissez votre mot de passe actuel."))])

    def validate_password(self, field):
        super().validate_password(field)
        if field.data and field.data == self.current_password.data:
            raise ValidationError(_l("Choisissez un mot de passe différent de l’actuel."))


class EndSessionsForm(FlaskForm):
    """« Déconnecter mes autres sessions »: a button (and its CSRF token)."""


class WelcomePasswordForm(_NewPasswordForm):
    """A new reviewer's first password, from their invitation link."""

    password = PasswordField(_l("Mot de passe"), validators=[InputRequired(_l("Choisissez un mot de passe."))])
    password_confirm = _confirmation(_l("Confirmation du mot de passe"))
