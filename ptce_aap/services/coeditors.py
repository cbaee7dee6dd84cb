"""Co-editors of a pole: invite by mail (signed, expiring link), accept, remove. The caller commits."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy.orm import joinedload

from ptce_aap import audit, tokens
from ptce_aap.domain.messages import N_
from ptce_aap.domain.text import one_line
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.accounts import User
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import Dossier, Invitation, Pole, PoleMembership
from ptce_aap.services.notifications import notify
from ptce_aap.urls import external_url

MAX_PENDING = 30


def invitation_token(invitation: Invitation) -> str:
    """Signed, valid INVITATION_TOKEN_MAX_AGE seconds; stops working when the invitation is cancelled."""
    return tokens.make_token(tokens.INVITATION, {"i": invitation.id, "e": invitation.email})


def invite(pole: Pole, email: str, *, by) -> Invitation:
    try:
        email = validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise DomainError(N_("Saisissez une adresse électronique valide, par exemple prenom.nom@exemple.fr."),
                          field="email") from exc
    already = db.session.scalar(
        sa.select(PoleMembership).join(User, User.id == PoleMembership.user_id)
        .where(PoleMembership.pole_id == pole.id, User.email == email))
    if already is not None:
        raise DomainError(N_("Cette personne fait déjà partie des éditeurs du dossier."), field="email")
    _check_daily_limits(pole, by)
    if len(pending_invitations(pole.id)) >= MAX_PENDING:
        raise DomainError(N_("Ce pôle a déjà %(n)s invitations en attente : annulez celles qui ne servent plus "
                             "avant d'en envoyer d'autres.", n=MAX_PENDING), field="email")
    invitation = Invitation(pole_id=pole.id, email=email, invited_by_id=by.id)
    db.session.add(invitation)
    db.session.flush()
    audit.record("pole.coeditor_invited", pole, actor=by, summary={"after": {"email": email}})
    link = external_url("applicants.accept_invitation", token=invitation_token(invitation))
    # Names typed by users are quoted on one line in the mail, never as paragraphs or links.
    notify(email, "invitation", {"inviter": one_line(by.display_name, max_length=80),
                                 "pole_name": one_line(pole.name, max_length=120), "link": link},
           dedupe_key=f"invitation:{invitation.id}")
    return invitation


def _check_daily_limits(pole: Pole, by) -> None:
    """Invitations sent over the last 24 h, counted in the database so that the limits hold across
    processes and servers. The pole's and the inviter's rows are locked first (PostgreSQL), so two
    concurrent invitations cannot both pass the last free slot."""
    db.session.execute(sa.select(Pole.id).where(Pole.id == pole.id).with_for_update())
    db.session.execute(sa.select(User.id).where(User.id == by.id).with_for_update())
    since = utcnow() - timedelta(days=1)
    recent = sa.select(sa.func.count(Invitation.id)).where(Invitation.created_at >= since)
    per_pole = current_app.config["INVITATIONS_PER_POLE_PER_DAY"]
    if db.session.scalar(recent.where(Invitation.pole_id == pole.id)) >= per_pole:
        raise DomainError(N_("Ce dossier a déjà envoyé %(n)s invitations ces dernières 24 heures : réessayez "
                             "demain.", n=per_pole), field="email")
    per_user = current_app.config["INVITATIONS_PER_USER_PER_DAY"]
    if db.session.scalar(recent.where(Invitation.invited_by_id == by.id)) >= per_user:
        raise DomainError(N_("Vous avez déjà envoyé %(n)s invitations ces dernières 24 heures : réessayez demain.",
                             n=per_user), field="email")


def read_invitation(token: str) -> Invitation:
    try:
        payload = tokens.read_token(tokens.INVITATION, token)
    except tokens.TokenExpired as exc:
        raise DomainError(N_("Ce lien d'invitation a expiré : demandez à la personne qui vous a invité "
                             "de vous envoyer une nouvelle invitation.")) from exc
    except tokens.TokenError as exc:
        raise DomainError(N_("Ce lien d'invitation n'est pas valide.")) from exc
    invitation = db.session.get(Invitation, payload.get("i")) if isinstance(payload.get("i"), int) else None
    if invitation is None or invitation.email != payload.get("e"):
        raise DomainError(N_("Ce lien d'invitation n'est pas valide."))
    if invitation.revoked_at is not None:
        raise DomainError(N_("Cette invitation a été annulée."))
    return invitation


def invitation_or_none(token: str) -> Invitation | None:
    """The invitation a link names while it can still be used or shown, else None (no message needed)."""
    try:
        return read_invitation(token)
    except DomainError:
        return None


def accept(token: str, *, user) -> Pole:
    invitation = read_invitation(token)
    if invitation.email != user.email.lower():
        raise DomainError(N_("Cette invitation a été envoyée à %(email)s : connectez-vous avec ce compte pour "
                             "l'accepter.", email=invitation.email))
    pole = db.session.get(Pole, invitation.pole_id)
    exists = db.session.scalar(sa.select(PoleMembership).filter_by(pole_id=pole.id, user_id=user.id))
    if exists is None:
        db.session.add(PoleMembership(pole_id=pole.id, user_id=user.id, is_owner=False))
        audit.record("pole.coeditor_joined", pole, actor=user, summary={"after": {"user": user.email}})
    if invitation.accepted_at is None:
        invitation.accepted_at = utcnow()
        invitation.accepted_by_id = user.id
    return pole


def remove(pole: Pole, user_id: int, *, by) -> None:
    membership = db.session.scalar(sa.select(PoleMembership).filter_by(pole_id=pole.id, user_id=user_id))
    if membership is None:
        raise DomainError(N_("Cette personne ne fait pas partie des éditeurs du dossier."))
    if membership.is_owner:
        raise DomainError(N_("Le créateur du dossier ne peut pas être retiré."))
    email = membership.user.email
    db.session.delete(membership)
    for invitation in db.session.scalars(sa.select(Invitation).filter_by(pole_id=pole.id, email=email)):
        if invitation.revoked_at is None:
            invitation.revoked_at = utcnow()
    audit.record("pole.coeditor_removed", pole, actor=by, summary={"before": {"user": email}})


def cancel(pole: Pole, invitation_id: int, *, by) -> Invitation:
    """Cancel a pending invitation (its link stops working at once)."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.pole_id != pole.id or invitation.accepted_at is not None:
        raise DomainError(N_("Cette invitation ne peut pas être annulée."))
    if invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        audit.record("pole.invitation_cancelled", pole, actor=by, summary={"before": {"email": invitation.email}})
    return invitation


def editors(pole_id: int) -> list[PoleMembership]:
    return db.session.scalars(
        sa.select(PoleMembership).where(PoleMembership.pole_id == pole_id)
        .options(joinedload(PoleMembership.user)).order_by(PoleMembership.is_owner.desc(), PoleMembership.id)
    ).all()


def latest_dossier_id(pole_id: int) -> int | None:
    """The pole's most recent dossier, where a new co-editor is taken."""
    return db.session.scalar(sa.select(Dossier.id).where(Dossier.pole_id == pole_id).order_by(Dossier.id.desc())
                             .limit(1))


def pending_invitations(pole_id: int) -> list[Invitation]:
    return db.session.scalars(
        sa.select(Invitation).where(Invitation.pole_id == pole_id, Invitation.accepted_at.is_(None),
                                    Invitation.revoked_at.is_(None)).order_by(Invitation.id)).all()
