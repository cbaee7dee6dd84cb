"""A new reviewer's invitation: the mailed link that lets a person invited to a call's pool choose their
first password (``tokens.REVIEWER_INVITATION``, valid REVIEWER_INVITATION_TOKEN_MAX_AGE seconds, 14 days).

The link is single use and only ever works for an account that has no password yet: its token carries a
fingerprint of the password hash and session token (``accounts.password_fingerprint``, as reset links do),
so it dies as soon as a password is set, by this page or by « Mot de passe oublié ». It never logs in an
account that already has a password. Only an administrator of the call can have it sent again
(``resend_invitation``): an address alone gets nobody a link. The caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from ptce_aap import audit, tokens
from ptce_aap.domain.messages import N_
from ptce_aap.domain.text import one_line
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.accounts import User
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.outbox import Notification
from ptce_aap.models.pool import ReviewerPoolMember
from ptce_aap.services import accounts
from ptce_aap.services.notifications import notify
from ptce_aap.tokens import TokenError
from ptce_aap.urls import external_url

TEMPLATE = "reviewer_invitation"
# Per address, as for the other account mails (``accounts.ACCOUNT_MAILS_PER_HOUR``): the first invitation
# counts, so an administrator can send it again twice within the hour.
INVITATIONS_PER_HOUR = accounts.ACCOUNT_MAILS_PER_HOUR


class InvitationUsed(TokenError):
    """The link was right but has served: the account has its password now."""

    used = True

    def __init__(self):
        super().__init__("invitation_used")  # a code, never shown (the page says it in the reader's language)


@dataclass
class Invitation:
    """What a valid link opens: the person, the call, their pool row and who invited them."""

    user: User
    call: Call
    member: ReviewerPoolMember
    inviter: User | None

    @property
    def secretariat(self) -> str:
        return secretariat_of(self.call, self.inviter)


def secretariat_of(call: Call, inviter: User | None) -> str:
    """The inviting secretariat, as the page and the mail name it: the call's awarding body, else the
    inviting administrator's institution ("" when neither is known)."""
    if call.awarding_body_name:
        return call.awarding_body_name
    institution = inviter.institution if inviter is not None else None
    return institution.name if institution is not None else ""


def never_activated(user: User) -> bool:
    """An account nobody has chosen a password for yet (the invitation link may still set it)."""
    return user.is_active and user.password_hash is None


def _dedupe_prefix(call: Call, user: User) -> str:
    return f"{TEMPLATE}:{call.id}:{user.id}"


def send_invitation(call: Call, user: User, *, inviter: User | None, resend: bool = False) -> Notification:
    """Queue the invitation mail with a fresh link. The first one is deduplicated per call and person;
    each resend gets the next number, so a double click queues one mail."""
    token = tokens.make_token(tokens.REVIEWER_INVITATION,
                              {"uid": user.id, "c": call.id, "fp": accounts.password_fingerprint(user)})
    prefix = _dedupe_prefix(call, user)
    key = prefix
    if resend:
        sent = db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
            sa.or_(Notification.dedupe_key == prefix, Notification.dedupe_key.like(f"{prefix}:%")))) or 0
        key = f"{prefix}:{sent}"
    secretariat = secretariat_of(call, inviter)
    context = {"name": one_line(user.display_name, max_length=80), "call_title": one_line(call.title, max_length=200),
               "secretariat": one_line(secretariat, max_length=200),
               "inviter": one_line(inviter.display_name, max_length=80) if inviter is not None else "",
               "link": external_url("auth.reviewer_invitation", token=token),
               "days": max(1, tokens.max_age_of(tokens.REVIEWER_INVITATION) // 86400),
               "forgot_link": external_url("auth.forgot_password"),
               "conflicts_link": external_url("reviewers.conflicts", slug=call.slug)}
    return notify(user.email, TEMPLATE, context, dedupe_key=key, user=user)


def _sent_in_last_hour(email: str) -> int:
    return db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.recipient == email, Notification.template == TEMPLATE,
        Notification.created_at >= utcnow() - timedelta(hours=1))) or 0


def resend_invitation(member: ReviewerPoolMember, *, by: User) -> Notification:
    """The admin's « Renvoyer l'invitation » for a pool member who never chose a password: a new link
    (the earlier ones keep working until a password is set). Audited; at most INVITATIONS_PER_HOUR
    invitation mails per address and hour."""
    user = db.session.get(User, member.user_id)
    call = db.session.get(Call, member.call_id)
    if not user.is_active:
        raise DomainError(N_("Le compte de cette personne est désactivé : l'invitation ne peut pas lui être renvoyée."))
    if not never_activated(user):
        raise DomainError(N_("%(name)s a déjà activé son compte : cette personne se connecte avec son mot de passe "
                             "(ou le redéfinit depuis « Mot de passe oublié »).", name=user.display_name))
    if _sent_in_last_hour(user.email) >= INVITATIONS_PER_HOUR:
        raise DomainError(N_("%(n)s invitations ont déjà été envoyées à %(email)s depuis une heure : attendez un peu "
                             "avant de la renvoyer, le courriel met parfois quelques minutes à arriver (pensez aux "
                             "courriers indésirables).", n=INVITATIONS_PER_HOUR, email=user.email))
    notification = send_invitation(call, user, inviter=by, resend=True)
    audit.record("pool.invitation_resent", member, actor=by, summary={"email": user.email, "call_id": call.id})
    return notification


def read_invitation(token: str) -> Invitation:
    """What a link opens. Raises ``TokenError`` (``expired`` set when too old) for a bad link or one whose
    invitation is gone (person removed from the pool, account disabled), ``InvitationUsed`` once the
    account has a password (whoever set it)."""
    payload = tokens.read_token(tokens.REVIEWER_INVITATION, token)
    uid, call_id = payload.get("uid"), payload.get("c")
    if not (isinstance(uid, int) and isinstance(call_id, int)):
        raise TokenError()
    user = db.session.get(User, uid)
    if user is None or not user.is_active:
        raise TokenError()
    if user.password_hash is not None:
        raise InvitationUsed()
    if not tokens.same_fingerprint(accounts.password_fingerprint(user), payload.get("fp", "")):
        raise TokenError()
    member = db.session.scalar(sa.select(ReviewerPoolMember).where(ReviewerPoolMember.call_id == call_id,
                                                                   ReviewerPoolMember.user_id == uid))
    if member is None:
        raise TokenError()
    call = db.session.get(Call, call_id)
    inviter = db.session.get(User, member.invited_by_id) if member.invited_by_id else None
    return Invitation(user, call, member, inviter)


def accept_invitation(token: str, password: str) -> Invitation:
    """Set the first password from a valid link: the address is verified (the link came to it), the link
    dies with the old fingerprint. Raises ``TokenError`` (see ``read_invitation``) or ``DomainError``
    (password rules, field ``password``). The caller logs the person in."""
    invitation = read_invitation(token)
    user = invitation.user
    accounts.set_password(user, password)
    if not user.is_email_verified:
        user.email_verified_at = utcnow()
        audit.record("user.email_verified", user, actor=user, summary={"after": {"email": user.email}})
    audit.record("pool.invitation_accepted", invitation.member, actor=user,
                 summary={"call_id": invitation.call.id})
    return invitation
