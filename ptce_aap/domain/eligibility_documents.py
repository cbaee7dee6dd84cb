"""The documents rule of the eligibility catalog (``domain.eligibility``): every required type present and clean
(SPEC §3). Pure: no Flask, no DB."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from ptce_aap.domain.eligibility_facts import AttachmentFacts, DossierFacts
from ptce_aap.domain.eligibility_results import RuleResult, failed, joined
from ptce_aap.domain.messages import N_, Message, join, plural
from ptce_aap.enums import AttachmentStatus, ScanStatus


class CallFacts(Protocol):
    """What the rule reads of ``eligibility.CallFacts`` (not imported: the catalog imports this module)."""

    required_documents: tuple[tuple[str, str], ...]


def _sent(a: AttachmentFacts, is_draft: bool) -> bool:
    """A file of the dossier that is not ready, but said below (not "missing"): blocked, being verified, or
    being sent (a draft). A try refused before the submission is simply missing: the draft had to send it
    again; one refused after it is said by ``_refused_required``."""
    if a.status in (AttachmentStatus.QUARANTINED, AttachmentStatus.PROCESSING):
        return True
    return is_draft and a.status == AttachmentStatus.UPLOADING


# How the verification's reasons (``services.attachment_processing``) tell a draft to send the file again.
ADVICE_STARTS = (" : envoyez-le à nouveau", " : envoyez-le de nouveau", " Vérifiez que vous avez choisi")


def without_advice(reason: str) -> str:
    """The verification's reason for refusing a file, without what it tells a draft to do (send it again): a
    submitted dossier can no longer send files; the secretariat may ask for one (a request for complements)."""
    for start in ADVICE_STARTS:
        if start in reason:
            return reason[:reason.index(start)].rstrip(" .:") + "."
    return reason


def _refused(a: AttachmentFacts) -> Message:
    return N_("« %(file)s » a été refusé par la vérification faite après le dépôt. Motif : %(reason)s",
              file=a.filename, reason=without_advice(a.rejection_reason) or N_("non précisé."))


def _refused_required(a: AttachmentFacts, label: str) -> RuleResult:
    """The only file of a required type, refused by the verification after the submission: the type is missing,
    and the dossier, frozen, cannot send it again; the secretariat may ask for it (a request for complements)."""
    return failed("documents", join([_refused(a), N_(
        "La pièce obligatoire « %(type)s » manque donc au dossier : le secrétariat pourra vous demander de "
        "l’envoyer à nouveau.", type=label)]))


def _refused_not_required(a: AttachmentFacts) -> Message:
    """Information only: a refused file of an optional type, or of a type another verified file fills."""
    return join([_refused(a), N_("Ce document n’est pas une pièce obligatoire manquante : il ne change pas "
                                 "l’éligibilité.")])


def rule_documents(d: DossierFacts, c: CallFacts, params: Mapping) -> RuleResult:
    """Every required document is there and none is blocked or in progress. A file the antivirus never
    analysed (none configured, or it was down) is accepted, said "non analysée", unless the call sets
    ``require_clean_scan``: then the rule fails and asks for it again.

    On a draft (live advice) a file still being verified counts as there: the dossier may be submitted
    meanwhile. A submitted dossier is checked only once its files are verified
    (``services.submission.after_verification``): a required type whose only file the verification refused
    after the submission fails the rule, with the reason; a refused file of an optional type, or beside a
    verified file of its type, is only said (information, not a failure)."""
    require_clean = bool(params.get("require_clean_scan", False))
    is_draft = d.submitted_at is None
    problems: list[RuleResult] = []  # one per problem: what was found, what to do in a draft
    missing: list[str] = []
    refused_required: set[int] = set()  # ids of the facts said as a missing required type
    unscanned = verifying = 0
    for code, label in c.required_documents:
        of_type = [a for a in d.attachments if a.document_type_code == code]
        ready = [a for a in of_type if a.status == AttachmentStatus.READY]
        if not ready:
            refused = [a for a in of_type if a.refused_after_submission and not is_draft]
            if is_draft and any(a.status == AttachmentStatus.PROCESSING for a in of_type):
                verifying += 1
            elif refused and not any(_sent(a, is_draft) for a in of_type):
                problems.append(_refused_required(refused[-1], label))
                refused_required.update(id(a) for a in refused)
            elif not any(_sent(a, is_draft) for a in of_type):
                missing.append(label)
            continue
        if not any(a.scan_status == ScanStatus.CLEAN for a in ready):
            if require_clean:
                problems.append(failed("documents", N_("« %(file)s » (%(type)s) n’a pas été analysé par "
                                                       "l’antivirus", file=ready[-1].filename or label, type=label),
                                       N_("envoyez-le de nouveau.")))
            else:
                unscanned += 1
    notes: list[Message] = []  # information on a passing rule
    for a in d.attachments:
        if a.status == AttachmentStatus.QUARANTINED or a.scan_status == ScanStatus.INFECTED:
            problems.append(failed("documents", N_("« %(file)s » a été bloqué par l’antivirus", file=a.filename),
                                   N_("remplacez-le.")))
        elif a.refused_after_submission and not is_draft:
            # Submitted while this file was in the verification queue, which then refused it.
            if id(a) not in refused_required:
                notes.append(_refused_not_required(a))
        elif a.status == AttachmentStatus.UPLOADING and not is_draft:
            continue  # an upload never confirmed before the submission: it is no document of the dossier
        elif a.status == AttachmentStatus.PROCESSING and is_draft:
            continue  # counted above: may be submitted while it is verified
        elif a.status in (AttachmentStatus.UPLOADING, AttachmentStatus.PROCESSING):
            problems.append(failed("documents", N_("« %(file)s » est en cours de vérification.", file=a.filename)))
    if missing:
        names = ", ".join(missing)  # the call's document types: call content, as written
        problems.insert(0, failed("documents", plural(
            len(missing), N_("Pièce obligatoire manquante : %(names)s.", names=names),
            N_("Pièces obligatoires manquantes : %(names)s.", names=names))))
    if problems:
        return joined("documents", problems)
    result = _passed(c, verifying, unscanned)
    if not notes:
        return result
    return RuleResult("documents", True, join([result.message_fr, *notes]), not_analysed=result.not_analysed)


def _passed(c: CallFacts, verifying: int, unscanned: int) -> RuleResult:
    n = len(c.required_documents)
    if n == 0:
        return RuleResult("documents", True, N_("L’appel ne demande aucune pièce obligatoire."))
    attached = plural(n, N_("La pièce obligatoire est jointe"), N_("Les %(count)s pièces obligatoires sont jointes",
                                                                   count=n))
    if verifying:  # a draft whose files are still being verified: their scan is not known yet
        return RuleResult("documents", True, N_("%(attached)s ; %(count)s en cours de vérification (antivirus, "
                                                "empreinte).", attached=attached, count=verifying))
    if unscanned:  # accepted by the call, but never called "sound": no antivirus looked at them
        not_analysed = plural(unscanned, N_("non analysée"), N_("non analysées"))
        return RuleResult("documents", True, N_("%(attached)s ; %(count)s %(unscanned)s par l’antivirus (l’appel "
                                                "accepte les pièces non analysées).", attached=attached,
                                                count=unscanned, unscanned=not_analysed), not_analysed=True)
    sound = plural(n, N_("et saine."), N_("et saines."))
    return RuleResult("documents", True, N_("%(attached)s %(sound)s", attached=attached, sound=sound))
