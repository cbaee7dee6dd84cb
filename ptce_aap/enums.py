"""States and choices. Values are stored in the database; labels are French and translatable."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l

_LABELS: dict[type, dict] = {}


class Labelled(StrEnum):
    """A StrEnum whose members carry a French label through ``LABELS``."""

    @property
    def label(self) -> str:
        return str(self.lazy_label)

    @property
    def lazy_label(self):
        """The label translated when shown (for forms built at import time)."""
        cls = type(self)
        labels = _LABELS.get(cls)
        if labels is None:  # built once per enum: lazy strings, translated when shown
            labels = _LABELS[cls] = cls.labels()
        return labels.get(self, self.value)

    @property
    def label_msgid(self) -> str:
        """The French label as a message id (``domain.messages`` translates it where it is shown)."""
        lazy = self.lazy_label
        return lazy._args[0] if getattr(lazy, "_args", None) else str(lazy)

    @classmethod
    def labels(cls) -> dict:
        return {}

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(value, label) pairs whose labels are translated when rendered, not when the form class is built."""
        return [(m.value, m.lazy_label) for m in cls]


class Role(Labelled):
    APPLICANT = "applicant"
    REVIEWER = "reviewer"
    ADMIN = "admin"

    @classmethod
    def labels(cls):
        return {cls.APPLICANT: _l("Porteur de projet"), cls.REVIEWER: _l("Rapporteur"),
                cls.ADMIN: _l("Administrateur")}


class CallStatus(Labelled):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    REVIEW = "review"
    DELIBERATION = "deliberation"
    PUBLISHED = "published"
    ARCHIVED = "archived"

    @classmethod
    def labels(cls):
        return {cls.DRAFT: _l("Brouillon"), cls.OPEN: _l("Ouvert"), cls.CLOSED: _l("Clos"),
                cls.REVIEW: _l("En instruction"), cls.DELIBERATION: _l("En délibération"),
                cls.PUBLISHED: _l("Résultats publiés"), cls.ARCHIVED: _l("Archivé")}


# Allowed transitions of a call; ``services.calls.set_call_status`` is the only write path (and holds the
# guards). Backwards: a closed call reopens until its review starts; the committee can send back to review.
CALL_TRANSITIONS: dict[CallStatus, set[CallStatus]] = {
    CallStatus.DRAFT: {CallStatus.OPEN},
    CallStatus.OPEN: {CallStatus.CLOSED},
    CallStatus.CLOSED: {CallStatus.OPEN, CallStatus.REVIEW},
    CallStatus.REVIEW: {CallStatus.DELIBERATION},
    CallStatus.DELIBERATION: {CallStatus.REVIEW, CallStatus.PUBLISHED},
    CallStatus.PUBLISHED: {CallStatus.ARCHIVED},
    CallStatus.ARCHIVED: set(),
}


class DossierStatus(Labelled):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    IN_REVIEW = "in_review"
    REVIEWED = "reviewed"
    LAUREATE = "laureate"
    WAITLISTED = "waitlisted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    # The secretariat asked for complements (``services.messages``): only the named sections and documents
    # may change until the applicant answers (back to submitted) or the secretariat closes the request.
    CORRECTION = "correction"

    @classmethod
    def labels(cls):
        return {cls.DRAFT: _l("Brouillon"), cls.SUBMITTED: _l("Déposé"), cls.CORRECTION: _l("Compléments demandés"), cls.ELIGIBLE: _l("Recevable"),
                cls.INELIGIBLE: _l("Irrecevable"), cls.IN_REVIEW: _l("En instruction"),
                cls.REVIEWED: _l("Instruit"), cls.LAUREATE: _l("Lauréat"),
                cls.WAITLISTED: _l("Liste complémentaire"), cls.REJECTED: _l("Non retenu"),
                cls.WITHDRAWN: _l("Retiré")}


# Allowed transitions of a dossier; ``set_dossier_status`` is the only write path.
DOSSIER_TRANSITIONS: dict[DossierStatus, set[DossierStatus]] = {
    DossierStatus.DRAFT: {DossierStatus.SUBMITTED},
    DossierStatus.SUBMITTED: {DossierStatus.ELIGIBLE, DossierStatus.INELIGIBLE, DossierStatus.WITHDRAWN,
                              DossierStatus.CORRECTION},
    DossierStatus.ELIGIBLE: {DossierStatus.INELIGIBLE, DossierStatus.IN_REVIEW, DossierStatus.WITHDRAWN,
                             DossierStatus.CORRECTION},
    DossierStatus.INELIGIBLE: {DossierStatus.ELIGIBLE, DossierStatus.WITHDRAWN, DossierStatus.CORRECTION},
    # Answered (or closed by the secretariat): submitted again, same receipt number, eligibility checked again.
    DossierStatus.CORRECTION: {DossierStatus.SUBMITTED, DossierStatus.WITHDRAWN},
    DossierStatus.IN_REVIEW: {DossierStatus.REVIEWED, DossierStatus.WITHDRAWN},
    DossierStatus.REVIEWED: {DossierStatus.LAUREATE, DossierStatus.WAITLISTED, DossierStatus.REJECTED,
                             DossierStatus.IN_REVIEW, DossierStatus.WITHDRAWN},
    DossierStatus.WAITLISTED: {DossierStatus.LAUREATE, DossierStatus.REJECTED},
    DossierStatus.LAUREATE: set(),
    DossierStatus.REJECTED: set(),
    DossierStatus.WITHDRAWN: set(),
}


class MessageKind(Labelled):
    """A line of a dossier's thread with the secretariat (``models.messages.DossierMessage``)."""

    MESSAGE = "message"
    REQUEST = "request"
    ANSWER = "answer"

    @classmethod
    def labels(cls):
        return {cls.MESSAGE: _l("Message"), cls.REQUEST: _l("Demande de compléments"),
                cls.ANSWER: _l("Réponse du porteur")}


class LegalForm(Labelled):
    ASSOCIATION = "association"
    SCIC = "scic"
    SCOP = "scop"
    COOPERATIVE = "cooperative"
    MUTUELLE = "mutuelle"
    FONDATION = "fondation"
    ESUS_COMPANY = "societe_esus"
    COLLECTIVITE = "collectivite"
    OTHER = "autre"

    @classmethod
    def labels(cls):
        return {cls.ASSOCIATION: _l("Association"), cls.SCIC: _l("SCIC"), cls.SCOP: _l("SCOP"),
                cls.COOPERATIVE: _l("Coopérative"), cls.MUTUELLE: _l("Mutuelle"),
                cls.FONDATION: _l("Fondation"), cls.ESUS_COMPANY: _l("Société commerciale ESUS"),
                cls.COLLECTIVITE: _l("Collectivité"), cls.OTHER: _l("Autre")}


class TerritoryType(Labelled):
    RURAL = "rural"
    PERIURBAN = "periurbain"
    URBAN = "urbain"
    QPV = "qpv"
    DEINDUSTRIALISED = "desindustrialise"

    @classmethod
    def labels(cls):
        return {cls.RURAL: _l("Rural"), cls.PERIURBAN: _l("Périurbain"), cls.URBAN: _l("Urbain"),
                cls.QPV: _l("Quartier prioritaire de la politique de la ville"),
                cls.DEINDUSTRIALISED: _l("Territoire désindustrialisé")}


class MemberCategory(Labelled):
    """Categories of member structures; values are those of the API (SPEC §7)."""

    ESS = "ess"
    ENTERPRISE = "enterprise"
    COLLECTIVITY = "collectivity"
    RESEARCH = "research"
    TRAINING = "training"
    OTHER = "other"

    @classmethod
    def labels(cls):
        return {cls.ESS: _l("Entreprise de l'ESS"), cls.ENTERPRISE: _l("Entreprise (hors ESS)"),
                cls.COLLECTIVITY: _l("Collectivité territoriale ou groupement"),
                cls.RESEARCH: _l("Centre de recherche / enseignement supérieur"),
                cls.TRAINING: _l("Organisme de formation"), cls.OTHER: _l("Autre")}


class MemberRole(Labelled):
    FOUNDER = "fondateur"
    MEMBER = "membre"
    PARTNER = "partenaire"

    @classmethod
    def labels(cls):
        return {cls.FOUNDER: _l("Fondateur"), cls.MEMBER: _l("Membre"), cls.PARTNER: _l("Partenaire")}


class ActivityDomain(Labelled):
    BUILDING = "batiment"
    ECO = "eco_activites"
    FOOD = "alimentation"
    CULTURE = "culture"
    PERSONAL_SERVICES = "services_personne"
    BUSINESS_SERVICES = "services_entreprises"
    TRAINING = "formation"
    EMPLOYMENT = "emploi_insertion"
    DIGITAL = "numerique"
    TOURISM = "tourisme_social"
    OTHER = "autre"

    @classmethod
    def labels(cls):
        return {cls.BUILDING: _l("Bâtiment et éco-construction"),
                cls.ECO: _l("Éco-activités (énergies renouvelables, déchets, recyclage, espaces verts)"),
                cls.FOOD: _l("Alimentation et agriculture durable"),
                cls.CULTURE: _l("Culture et industries créatives"),
                cls.PERSONAL_SERVICES: _l("Services à la personne"),
                cls.BUSINESS_SERVICES: _l("Services aux entreprises"),
                cls.TRAINING: _l("Formation professionnelle"),
                cls.EMPLOYMENT: _l("Emploi, insertion et sécurisation des parcours"),
                cls.DIGITAL: _l("Numérique"), cls.TOURISM: _l("Restauration et tourisme social"),
                cls.OTHER: _l("Autre")}


class CooperationForm(Labelled):
    SHARED_RESOURCES = "mutualisation_moyens"
    SHARED_PROJECTS = "mutualisation_projets"
    STRATEGIC = "cooperation_strategique"

    @classmethod
    def labels(cls):
        return {cls.SHARED_RESOURCES: _l("Mutualisation de moyens, ressources ou services"),
                cls.SHARED_PROJECTS: _l("Mutualisation de projets"),
                cls.STRATEGIC: _l("Coopération stratégique")}


class GovernanceForm(Labelled):
    DEDICATED = "structure_dediee"
    AD_HOC = "ad_hoc"
    INFORMAL = "informelle"

    @classmethod
    def labels(cls):
        return {cls.DEDICATED: _l("Association ou coopérative dédiée au pôle"),
                cls.AD_HOC: _l("Structure ad hoc (comité de pilotage, cercles…)"),
                cls.INFORMAL: _l("Informelle ou déléguée à un membre")}


class FinancingKind(Labelled):
    EXPENSE = "expense"
    RESOURCE = "resource"

    @classmethod
    def labels(cls):
        return {cls.EXPENSE: _l("Dépense"), cls.RESOURCE: _l("Ressource")}


class FundingSource(Labelled):
    OWN = "ressources_propres"
    FEES = "cotisations"
    SALES = "vente_prestations"
    STATE = "etat"
    REGION = "region"
    DEPARTMENT = "departement"
    MUNICIPAL = "epci_commune"
    EUROPE = "europe"
    CDC = "caisse_des_depots"
    FOUNDATION = "fondations"
    IN_KIND = "contributions_volontaires"

    @classmethod
    def labels(cls):
        return {cls.OWN: _l("Ressources propres"), cls.FEES: _l("Cotisations"),
                cls.SALES: _l("Vente de prestations"), cls.STATE: _l("État"), cls.REGION: _l("Région"),
                cls.DEPARTMENT: _l("Département"), cls.MUNICIPAL: _l("EPCI / commune"),
                cls.EUROPE: _l("Europe"), cls.CDC: _l("Caisse des Dépôts"), cls.FOUNDATION: _l("Fondations"),
                cls.IN_KIND: _l("Contributions volontaires valorisées")}


class FundingStatus(Labelled):
    SECURED = "acquis"
    REQUESTED = "sollicite"

    @classmethod
    def labels(cls):
        return {cls.SECURED: _l("Acquis"), cls.REQUESTED: _l("Sollicité")}


class ScanStatus(Labelled):
    PENDING = "pending"
    CLEAN = "clean"
    INFECTED = "infected"
    NOT_SCANNED = "not_scanned"
    ERROR = "error"

    @classmethod
    def labels(cls):
        return {cls.PENDING: _l("Analyse en cours"), cls.CLEAN: _l("Sain"), cls.INFECTED: _l("Infecté"),
                cls.NOT_SCANNED: _l("Non analysé"), cls.ERROR: _l("Erreur d'analyse")}


class AttachmentStatus(Labelled):
    UPLOADING = "uploading"
    PROCESSING = "processing"
    READY = "ready"
    REJECTED = "rejected"
    QUARANTINED = "quarantined"

    @classmethod
    def labels(cls):
        return {cls.UPLOADING: _l("Envoi en cours"), cls.PROCESSING: _l("Vérification en cours"),
                cls.READY: _l("Vérifié"), cls.REJECTED: _l("Refusé"), cls.QUARANTINED: _l("En quarantaine")}


# The moves ``services.attachments.set_attachment_status`` allows (a new row starts ``uploading``).
ATTACHMENT_TRANSITIONS: dict[AttachmentStatus, set[AttachmentStatus]] = {
    AttachmentStatus.UPLOADING: {AttachmentStatus.PROCESSING, AttachmentStatus.REJECTED},
    AttachmentStatus.PROCESSING: {AttachmentStatus.READY, AttachmentStatus.QUARANTINED, AttachmentStatus.REJECTED},
    AttachmentStatus.READY: set(),
    AttachmentStatus.REJECTED: set(),
    AttachmentStatus.QUARANTINED: set(),
}


class RuleMode(Labelled):
    BLOCKING = "blocking"
    ADVISORY = "advisory"
    OFF = "off"

    @classmethod
    def labels(cls):
        return {cls.BLOCKING: _l("Bloquante"), cls.ADVISORY: _l("Indicative"), cls.OFF: _l("Désactivée")}


class AssignmentStatus(Labelled):
    ASSIGNED = "assigned"
    DECLINED_CONFLICT = "declined_conflict"
    DECLINED = "declined"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"

    @classmethod
    def labels(cls):
        return {cls.ASSIGNED: _l("Attribué"), cls.DECLINED_CONFLICT: _l("Décliné (conflit d'intérêts)"),
                cls.DECLINED: _l("Décliné"), cls.IN_PROGRESS: _l("En cours"), cls.SUBMITTED: _l("Rendu")}


# The moves ``services.assignments.set_assignment_status`` allows (a new row starts ``assigned``): the review
# starts, is handed in, is reopened by an admin; the reviewer declines before handing it in. A decline is final.
ASSIGNMENT_TRANSITIONS: dict[AssignmentStatus, set[AssignmentStatus]] = {
    AssignmentStatus.ASSIGNED: {AssignmentStatus.IN_PROGRESS, AssignmentStatus.DECLINED,
                                AssignmentStatus.DECLINED_CONFLICT},
    AssignmentStatus.IN_PROGRESS: {AssignmentStatus.SUBMITTED, AssignmentStatus.DECLINED,
                                   AssignmentStatus.DECLINED_CONFLICT},
    AssignmentStatus.SUBMITTED: {AssignmentStatus.IN_PROGRESS},
    AssignmentStatus.DECLINED: set(),
    AssignmentStatus.DECLINED_CONFLICT: set(),
}


class InstitutionKind(Labelled):
    """What an institution on the committee is (reviewers come from ≥ 2 different institutions)."""

    MINISTRY = "ministry"
    STATE_AGENCY = "state_agency"
    CDC = "caisse_des_depots"
    REGION = "region"
    OTHER = "other"

    @classmethod
    def labels(cls):
        return {cls.MINISTRY: _l("Ministère"), cls.STATE_AGENCY: _l("Agence de l'État"),
                cls.CDC: _l("Caisse des Dépôts"), cls.REGION: _l("Région"), cls.OTHER: _l("Autre")}


class ReviewStage(Labelled):
    """Where an assignment sits: the regional instruction or the national committee."""

    REGIONAL = "regional"
    NATIONAL = "national"

    @classmethod
    def labels(cls):
        return {cls.REGIONAL: _l("Instruction régionale"), cls.NATIONAL: _l("Instruction nationale")}


class ConflictSource(Labelled):
    DECLARED = "declared"
    ADMIN = "admin"
    DETECTED = "detected"

    @classmethod
    def labels(cls):
        return {cls.DECLARED: _l("Déclaré par le rapporteur"), cls.ADMIN: _l("Signalé par l'administration"),
                cls.DETECTED: _l("Détecté automatiquement")}


class OpinionStatus(Labelled):
    DRAFT = "draft"
    SUBMITTED = "submitted"

    @classmethod
    def labels(cls):
        return {cls.DRAFT: _l("Brouillon"), cls.SUBMITTED: _l("Rendu")}


class Recommendation(Labelled):
    FAVORABLE = "favorable"
    RESERVED = "reserve"
    UNFAVORABLE = "defavorable"

    @classmethod
    def labels(cls):
        return {cls.FAVORABLE: _l("Favorable"), cls.RESERVED: _l("Réservé"),
                cls.UNFAVORABLE: _l("Défavorable")}


class DecisionOutcome(Labelled):
    LAUREATE = "laureate"
    WAITLISTED = "waitlisted"
    REJECTED = "rejected"

    @classmethod
    def labels(cls):
        return {cls.LAUREATE: _l("Lauréat"), cls.WAITLISTED: _l("Liste complémentaire"),
                cls.REJECTED: _l("Non retenu")}


class PaymentTerms(Labelled):
    """``conditionsVersement`` of the SCDL subsidies schema; ``scdl`` is the value the file carries."""

    SINGLE = "unique"
    STAGED = "echelonne"
    OTHER = "autre"

    @classmethod
    def labels(cls):
        return {cls.SINGLE: _l("Versement unique"), cls.STAGED: _l("Versement échelonné"), cls.OTHER: _l("Autre")}

    @property
    def scdl(self) -> str:
        return {"unique": "unique", "echelonne": "échelonné", "autre": "autre"}[self.value]


class ApiScope(Labelled):
    """What an API token may read (SPEC §7)."""

    CALLS = "calls:read"
    DOSSIERS = "dossiers:read"
    DECISIONS = "decisions:read"

    @classmethod
    def labels(cls):
        return {cls.CALLS: _l("Appels à projets"), cls.DOSSIERS: _l("Dossiers, avis et notes"),
                cls.DECISIONS: _l("Décisions")}


class OutboxStatus(StrEnum):
    PENDING = "pending"
    ENQUEUED = "enqueued"
    DONE = "done"
    FAILED = "failed"


class NotificationStatus(Labelled):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"

    @classmethod
    def labels(cls):
        return {cls.PENDING: _l("En attente"), cls.SENT: _l("Envoyé"), cls.FAILED: _l("Échec")}


class JobStatus(Labelled):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @classmethod
    def labels(cls):
        return {cls.QUEUED: _l("En attente"), cls.RUNNING: _l("En cours"), cls.DONE: _l("Terminé"),
                cls.FAILED: _l("Échec")}


class JobKind(Labelled):
    """What a tracked background job (``JobRun``) does; ``OTHER`` for rows older than the column."""

    ELIGIBILITY_RERUN = "eligibility_rerun"
    DOCUMENTS_ZIP = "documents_zip"
    OTHER = "other"

    @classmethod
    def labels(cls):
        return {cls.ELIGIBILITY_RERUN: _l("Vérification de l'éligibilité"),
                cls.DOCUMENTS_ZIP: _l("Archive ZIP des pièces"), cls.OTHER: _l("Autre")}
