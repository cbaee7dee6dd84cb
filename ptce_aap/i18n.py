"""Language: French by default, English on request. Formatting (amounts, Paris time) is ``ptce_aap.formatting``."""

from __future__ import annotations

from flask import current_app, has_request_context, session
from flask_babel import get_locale, gettext
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup

from ptce_aap import formatting
from ptce_aap.domain.messages import N_, Message
from ptce_aap.extensions import request_translations

# The French texts the scripts (ptce_aap/static/*.js) show, each written there as ``t("…")``: the page gives
# them translated (templates/base.html, ``js_texts``). ``%(name)s`` placeholders are filled by the script.
JS_TEXTS = (
    N_("Vos saisies non enregistrées ont été remises dans le formulaire : cliquez sur « Enregistrer »."),
    N_("Vos saisies non enregistrées ont été remises dans le formulaire ; enregistrement en cours…"),
    N_("Enregistrement en cours…"),
    N_("L'enregistrement automatique est interrompu : vos saisies sont conservées dans ce navigateur. Cliquez "
       "sur « Enregistrer »."),
    N_("L'enregistrement automatique a échoué : cliquez sur « Enregistrer »."),
    N_("Connexion perdue : vos saisies sont conservées dans ce navigateur. Cliquez sur « Enregistrer » dès que "
       "possible."),
    N_("%(count)s / %(max)s caractères"),
    N_("%(count)s / %(max)s caractères — %(over)s de trop"),
    N_("Le serveur n'a pas pu traiter la demande (erreur %(status)s). Réessayez."),
    N_("La connexion au serveur a été perdue. Vérifiez votre connexion et réessayez."),
    N_("Le fichier a été refusé par le serveur de stockage (erreur %(status)s). Vérifiez sa taille et son "
       "format, puis réessayez."),
    N_("L'envoi a été interrompu (connexion perdue ?). Réessayez."),
    N_("Envoi en cours : %(percent)s %% (%(loaded)s sur %(total)s)"),
    N_("Envoi en cours : %(percent)s %%"),
    N_("Choisissez un fichier à envoyer."),
    N_("Fichier envoyé, vérification en cours…"),
    N_("%(size)s Mo"),
    N_("%(size)s ko"),
    N_("%(size)s octets"),
    N_(" (%(count)s critère non noté)"),
    N_(" (%(count)s critères non notés)"),
    N_("Enregistrement automatique en pause quelques secondes : vos saisies sont conservées dans ce navigateur."),
)


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # jobs: mails and PDFs are French
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def translate(value):
    """A message of the domain (``domain.messages.Message``, or its JSON as stored in eligibility results) in
    the reader's language; anything else as it is."""
    if isinstance(value, dict) and ("msgid" in value or "join" in value):
        value = Message.from_json(value)
    if isinstance(value, Message):
        return value.translate(gettext, str(get_locale() or "fr"))
    return value


def js_texts() -> dict[str, str]:
    """``{French: translated}`` for the scripts; empty in French (they show their French source)."""
    if str(get_locale() or "fr") == current_app.config["BABEL_DEFAULT_LOCALE"]:
        return {}
    return {str(text): gettext(text) for text in JS_TEXTS}


@pass_context
def _gettext(context, string: str, /, **variables) -> str:
    """The templates' ``_()``: Jinja's newstyle ``gettext`` (``jinja2.ext._make_new_gettext``: escaped when
    autoescaping, always ``%``-formatted, so a literal ``%`` is written ``%%``) without its two indirections
    (``_`` resolving ``gettext`` in the context, which calls flask_babel's callable through the context):
    they cost about half of each of a page's ~170 calls."""
    rv = request_translations().ugettext(string)
    if context.eval_ctx.autoescape:
        rv = Markup(rv)  # noqa: S704 (the catalogue's own text, as Jinja does; the variables are escaped by %)
    return rv % variables if variables or "%" in rv else rv  # the same text: nothing to format (~3 µs saved)


@pass_context
def _ngettext(context, singular: str, plural: str, num: int, /, **variables) -> str:
    """The templates' ``ngettext``, as Jinja's newstyle one (``num`` is a variable too), like ``_gettext``."""
    variables.setdefault("num", num)
    rv = request_translations().ungettext(singular, plural, num)
    if context.eval_ctx.autoescape:
        rv = Markup(rv)  # noqa: S704 (as above)
    return rv % variables


def init_app(app) -> None:
    """Template filters for amounts, numbers and Paris time (``ptce_aap.formatting``), and ``tr`` for the
    domain's messages."""
    formatting.init_app(app)
    # flask_babel's callables, on the request's translations looked up once (``extensions.RequestDomain``);
    # ``_``, ``gettext`` and ``ngettext`` called directly (see ``_gettext``).
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
        newstyle=True)
    app.jinja_env.globals.update(_=_gettext, gettext=_gettext, ngettext=_ngettext)
    app.jinja_env.filters["tr"] = translate
    # Safety net: a domain message printed as it is (``{{ error }}``) is translated too.
    app.jinja_env.finalize = lambda value: translate(value) if isinstance(value, Message) else value
    app.jinja_env.globals["js_texts"] = js_texts
