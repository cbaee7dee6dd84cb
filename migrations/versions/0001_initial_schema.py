"""Initial schema: accounts, calls, dossiers, reviews, decisions, outbox and audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 04:15:38.735927

Self-contained: the app's column types are written here as the types they create in the database.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# models.base.UTCDateTime: aware datetimes (TIMESTAMP WITH TIME ZONE; SQLite: DATETIME holding UTC).
UTC_DATETIME = sa.DateTime(timezone=True)
# models.base.Money: NUMERIC(12, 2); SQLite: integer cents.
MONEY = sa.Numeric(precision=12, scale=2).with_variant(sa.BigInteger(), "sqlite")
# models.base.JSONType: JSON; PostgreSQL: JSONB.
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def enum(name, *values):
    """models.base.enum_column: the member values in a VARCHAR(32), no native type, no CHECK."""
    return sa.Enum(*values, name=name, native_enum=False, length=32)


# revision identifiers, used by Alembic.
revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description_md", sa.Text(), nullable=False),
        sa.Column(
            "status",
            enum("callstatus", "draft", "open", "closed", "review", "deliberation", "published", "archived"),
            nullable=False,
        ),
        sa.Column("opens_at", UTC_DATETIME, nullable=False),
        sa.Column("closes_at", UTC_DATETIME, nullable=False),
        sa.Column("review_deadline_at", UTC_DATETIME, nullable=True),
        sa.Column("envelope_eur", MONEY, nullable=False),
        sa.Column("max_amount_eur", MONEY, nullable=False),
        sa.Column("max_state_share", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("reviewers_per_dossier", sa.Integer(), nullable=False),
        sa.Column("has_regional_instruction", sa.Boolean(), nullable=False),
        sa.Column("max_upload_bytes", sa.Integer(), nullable=False),
        sa.Column("eligibility_settings", JSON, nullable=False),
        sa.Column("awarding_body_name", sa.String(length=200), nullable=False),
        sa.Column("awarding_body_siret", sa.String(length=14), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("published_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
        sa.UniqueConstraint("slug", name=op.f("uq_calls_slug")),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calls_status"), ["status"], unique=False)

    op.create_table(
        "institutions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("short_name", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_institutions")),
        sa.UniqueConstraint("name", name=op.f("uq_institutions_name")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=100), nullable=False),
        sa.Column("kwargs", JSON, nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("status", enum("outboxstatus", "pending", "enqueued", "done", "failed"), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("enqueued_at", UTC_DATETIME, nullable=True),
        sa.Column("done_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_status"), ["status"], unique=False)

    op.create_table(
        "call_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("max_amount_eur", MONEY, nullable=True),
        sa.Column("quota", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_call_categories_call_id_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_categories")),
        sa.UniqueConstraint("call_id", "code", name=op.f("uq_call_categories_call_id_code")),
    )
    with op.batch_alter_table("call_categories", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_categories_call_id"), ["call_id"], unique=False)

    op.create_table(
        "criteria",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("guidance", sa.Text(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("max_score", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_criteria_call_id_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_criteria")),
        sa.UniqueConstraint("call_id", "code", name=op.f("uq_criteria_call_id_code")),
    )
    with op.batch_alter_table("criteria", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_criteria_call_id"), ["call_id"], unique=False)

    op.create_table(
        "document_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("is_required", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_document_types_call_id_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_types")),
        sa.UniqueConstraint("call_id", "code", name=op.f("uq_document_types_call_id_code")),
    )
    with op.batch_alter_table("document_types", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_types_call_id"), ["call_id"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("session_token", sa.String(length=64), nullable=False),
        sa.Column("is_applicant", sa.Boolean(), nullable=False),
        sa.Column("is_reviewer", sa.Boolean(), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("is_disabled", sa.Boolean(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=True),
        sa.Column("locale", sa.String(length=8), nullable=True),
        sa.Column("email_verified_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("last_login_at", UTC_DATETIME, nullable=True),
        sa.Column("password_changed_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["institution_id"], ["institutions.id"], name=op.f("fk_users_institution_id_institutions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("last_used_at", UTC_DATETIME, nullable=True),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_api_tokens_token_sha256")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=40), nullable=True),
        sa.Column("summary", JSON, nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("request_id", sa.String(length=40), nullable=True),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_events_actor_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_events_object", ["object_type", "object_id"], unique=False)

    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("status", enum("jobstatus", "queued", "running", "done", "failed"), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_job_runs_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("template", sa.String(length=80), nullable=False),
        sa.Column("context", JSON, nullable=False),
        sa.Column("attachments", JSON, nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("status", enum("notificationstatus", "pending", "sent", "failed"), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("sent_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notifications_dedupe_key")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_recipient"), ["recipient"], unique=False)
        batch_op.create_index(batch_op.f("ix_notifications_status"), ["status"], unique=False)

    op.create_table(
        "poles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_poles_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poles")),
    )
    op.create_table(
        "conflicts_of_interest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("pole_id", sa.Integer(), nullable=True),
        sa.Column("siren", sa.String(length=9), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("declared_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_conflicts_of_interest_call_id_calls"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["declared_by_id"],
            ["users.id"],
            name=op.f("fk_conflicts_of_interest_declared_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_conflicts_of_interest_institution_id_institutions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pole_id"], ["poles.id"], name=op.f("fk_conflicts_of_interest_pole_id_poles"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["users.id"],
            name=op.f("fk_conflicts_of_interest_reviewer_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conflicts_of_interest")),
    )
    with op.batch_alter_table("conflicts_of_interest", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conflicts_of_interest_reviewer_id"), ["reviewer_id"], unique=False
        )

    op.create_table(
        "dossiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("pole_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            enum(
                "dossierstatus",
                "draft",
                "submitted",
                "eligible",
                "ineligible",
                "in_review",
                "reviewed",
                "laureate",
                "waitlisted",
                "rejected",
                "withdrawn",
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=40), nullable=True),
        sa.Column("pole_name", sa.String(length=200), nullable=False),
        sa.Column("carrier_legal_name", sa.String(length=200), nullable=False),
        sa.Column("carrier_siret", sa.String(length=20), nullable=False),
        sa.Column(
            "carrier_legal_form",
            enum(
                "legalform",
                "association",
                "scic",
                "scop",
                "cooperative",
                "mutuelle",
                "fondation",
                "societe_esus",
                "collectivite",
                "autre",
            ),
            nullable=True,
        ),
        sa.Column("carrier_rna", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.Column("commune_name", sa.String(length=200), nullable=False),
        sa.Column("region_code", sa.String(length=3), nullable=False),
        sa.Column("departments", JSON, nullable=False),
        sa.Column("territory_types", JSON, nullable=False),
        sa.Column("cooperation_start_year", sa.Integer(), nullable=True),
        sa.Column("activity_domains", JSON, nullable=False),
        sa.Column("activity_other", sa.String(length=200), nullable=False),
        sa.Column("cooperation", JSON, nullable=False),
        sa.Column(
            "governance_form",
            enum("governanceform", "structure_dediee", "ad_hoc", "informelle"),
            nullable=True,
        ),
        sa.Column("governance_text", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("strategy", sa.Text(), nullable=False),
        sa.Column("innovation", sa.Text(), nullable=False),
        sa.Column("territorial_anchoring", sa.Text(), nullable=False),
        sa.Column("expected_impacts", sa.Text(), nullable=False),
        sa.Column("jobs_existing_fte", sa.Numeric(precision=8, scale=2), nullable=True),
        sa.Column("jobs_to_create_fte", sa.Numeric(precision=8, scale=2), nullable=True),
        sa.Column("jobs_text", sa.Text(), nullable=False),
        sa.Column("rd_partners", sa.Text(), nullable=False),
        sa.Column("raw_inputs", JSON, nullable=False),
        sa.Column("total_budget_eur", MONEY, nullable=True),
        sa.Column("amount_requested_eur", MONEY, nullable=True),
        sa.Column("receipt_number", sa.String(length=40), nullable=True),
        sa.Column("submitted_at", UTC_DATETIME, nullable=True),
        sa.Column("receipt_key", sa.String(length=300), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_dossiers_call_id_calls")),
        sa.ForeignKeyConstraint(["pole_id"], ["poles.id"], name=op.f("fk_dossiers_pole_id_poles")),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_dossiers_updated_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossiers")),
        sa.UniqueConstraint("call_id", "pole_id", name=op.f("uq_dossiers_call_id_pole_id")),
        sa.UniqueConstraint("receipt_number", name=op.f("uq_dossiers_receipt_number")),
    )
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dossiers_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dossiers_pole_id"), ["pole_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dossiers_region_code"), ["region_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_dossiers_status"), ["status"], unique=False)

    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pole_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("accepted_at", UTC_DATETIME, nullable=True),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"],
            ["users.id"],
            name=op.f("fk_invitations_accepted_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["users.id"],
            name=op.f("fk_invitations_invited_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["pole_id"], ["poles.id"], name=op.f("fk_invitations_pole_id_poles"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitations_pole_id"), ["pole_id"], unique=False)

    op.create_table(
        "pole_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pole_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("is_owner", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["pole_id"], ["poles.id"], name=op.f("fk_pole_memberships_pole_id_poles"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_pole_memberships_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pole_memberships")),
        sa.UniqueConstraint("pole_id", "user_id", name=op.f("uq_pole_memberships_pole_id_user_id")),
    )
    with op.batch_alter_table("pole_memberships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pole_memberships_pole_id"), ["pole_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pole_memberships_user_id"), ["user_id"], unique=False)

    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            enum("assignmentstatus", "assigned", "declined_conflict", "in_progress", "submitted"),
            nullable=False,
        ),
        sa.Column("due_at", UTC_DATETIME, nullable=True),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"],
            ["users.id"],
            name=op.f("fk_assignments_assigned_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossiers.id"],
            name=op.f("fk_assignments_dossier_id_dossiers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_assignments_reviewer_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
        sa.UniqueConstraint("dossier_id", "reviewer_id", name=op.f("uq_assignments_dossier_id_reviewer_id")),
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignments_dossier_id"), ["dossier_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_assignments_reviewer_id"), ["reviewer_id"], unique=False)

    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("document_type_code", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("storage_backend", sa.String(length=20), nullable=False),
        sa.Column("storage_key", sa.String(length=300), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("declared_mime", sa.String(length=120), nullable=False),
        sa.Column("mime", sa.String(length=120), nullable=True),
        sa.Column("page_count", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            enum("attachmentstatus", "uploading", "processing", "ready", "rejected", "quarantined"),
            nullable=False,
        ),
        sa.Column(
            "scan_status",
            enum("scanstatus", "pending", "clean", "infected", "not_scanned", "error"),
            nullable=False,
        ),
        sa.Column("rejection_reason", sa.String(length=300), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("processed_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossiers.id"],
            name=op.f("fk_attachments_dossier_id_dossiers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name=op.f("fk_attachments_uploaded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_attachments_storage_key")),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachments_dossier_id"), ["dossier_id"], unique=False)

    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("outcome", enum("decisionoutcome", "laureate", "waitlisted", "rejected"), nullable=False),
        sa.Column("amount_eur", MONEY, nullable=True),
        sa.Column("motivation", sa.Text(), nullable=False),
        sa.Column("committee_date", sa.Date(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", UTC_DATETIME, nullable=False),
        sa.Column("notified_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_decisions_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["dossier_id"], ["dossiers.id"], name=op.f("fk_decisions_dossier_id_dossiers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint("dossier_id", name=op.f("uq_decisions_dossier_id")),
    )
    op.create_table(
        "dossier_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_status",
            enum(
                "dossierstatus",
                "draft",
                "submitted",
                "eligible",
                "ineligible",
                "in_review",
                "reviewed",
                "laureate",
                "waitlisted",
                "rejected",
                "withdrawn",
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            enum(
                "dossierstatus",
                "draft",
                "submitted",
                "eligible",
                "ineligible",
                "in_review",
                "reviewed",
                "laureate",
                "waitlisted",
                "rejected",
                "withdrawn",
            ),
            nullable=False,
        ),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_dossier_transitions_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossiers.id"],
            name=op.f("fk_dossier_transitions_dossier_id_dossiers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossier_transitions")),
    )
    with op.batch_alter_table("dossier_transitions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dossier_transitions_dossier_id"), ["dossier_id"], unique=False)

    op.create_table(
        "eligibility_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("is_eligible", sa.Boolean(), nullable=False),
        sa.Column("results", JSON, nullable=False),
        sa.Column("is_override", sa.Boolean(), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("ran_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_eligibility_checks_actor_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossiers.id"],
            name=op.f("fk_eligibility_checks_dossier_id_dossiers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_checks")),
    )
    with op.batch_alter_table("eligibility_checks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eligibility_checks_dossier_id"), ["dossier_id"], unique=False)

    op.create_table(
        "financing_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", enum("financingkind", "expense", "resource"), nullable=False),
        sa.Column(
            "source",
            enum(
                "fundingsource",
                "ressources_propres",
                "cotisations",
                "vente_prestations",
                "etat",
                "region",
                "departement",
                "epci_commune",
                "europe",
                "caisse_des_depots",
                "fondations",
                "contributions_volontaires",
            ),
            nullable=True,
        ),
        sa.Column("funder", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("amount_eur", MONEY, nullable=True),
        sa.Column("status", enum("fundingstatus", "acquis", "sollicite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossiers.id"],
            name=op.f("fk_financing_lines_dossier_id_dossiers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_financing_lines")),
    )
    with op.batch_alter_table("financing_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_financing_lines_dossier_id"), ["dossier_id"], unique=False)

    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("siret", sa.String(length=20), nullable=False),
        sa.Column(
            "category",
            enum("membercategory", "ess", "enterprise", "collectivity", "research", "training", "other"),
            nullable=True,
        ),
        sa.Column("department", sa.String(length=3), nullable=False),
        sa.Column("role", enum("memberrole", "fondateur", "membre", "partenaire"), nullable=True),
        sa.Column("is_legal_person", sa.Boolean(), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dossier_id"], ["dossiers.id"], name=op.f("fk_members_dossier_id_dossiers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
    )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_members_dossier_id"), ["dossier_id"], unique=False)

    op.create_table(
        "regional_opinions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=3), nullable=False),
        sa.Column(
            "recommendation", enum("recommendation", "favorable", "reserve", "defavorable"), nullable=True
        ),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_regional_opinions_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossiers.id"],
            name=op.f("fk_regional_opinions_dossier_id_dossiers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regional_opinions")),
        sa.UniqueConstraint("dossier_id", name=op.f("uq_regional_opinions_dossier_id")),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column(
            "recommendation", enum("recommendation", "favorable", "reserve", "defavorable"), nullable=True
        ),
        sa.Column("confidential_note", sa.Text(), nullable=False),
        sa.Column("submitted_at", UTC_DATETIME, nullable=True),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name=op.f("fk_reviews_assignment_id_assignments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("assignment_id", name=op.f("uq_reviews_assignment_id")),
    )
    op.create_table(
        "review_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["criterion_id"],
            ["criteria.id"],
            name=op.f("fk_review_scores_criterion_id_criteria"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["review_id"], ["reviews.id"], name=op.f("fk_review_scores_review_id_reviews"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_scores")),
        sa.UniqueConstraint(
            "review_id", "criterion_id", name=op.f("uq_review_scores_review_id_criterion_id")
        ),
    )
    with op.batch_alter_table("review_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_scores_review_id"), ["review_id"], unique=False)


def downgrade():
    with op.batch_alter_table("review_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_scores_review_id"))

    op.drop_table("review_scores")
    op.drop_table("reviews")
    op.drop_table("regional_opinions")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_members_dossier_id"))

    op.drop_table("members")
    with op.batch_alter_table("financing_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_financing_lines_dossier_id"))

    op.drop_table("financing_lines")
    with op.batch_alter_table("eligibility_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eligibility_checks_dossier_id"))

    op.drop_table("eligibility_checks")
    with op.batch_alter_table("dossier_transitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dossier_transitions_dossier_id"))

    op.drop_table("dossier_transitions")
    op.drop_table("decisions")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_dossier_id"))

    op.drop_table("attachments")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignments_reviewer_id"))
        batch_op.drop_index(batch_op.f("ix_assignments_dossier_id"))

    op.drop_table("assignments")
    with op.batch_alter_table("pole_memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pole_memberships_user_id"))
        batch_op.drop_index(batch_op.f("ix_pole_memberships_pole_id"))

    op.drop_table("pole_memberships")
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitations_pole_id"))

    op.drop_table("invitations")
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dossiers_status"))
        batch_op.drop_index(batch_op.f("ix_dossiers_region_code"))
        batch_op.drop_index(batch_op.f("ix_dossiers_pole_id"))
        batch_op.drop_index(batch_op.f("ix_dossiers_call_id"))

    op.drop_table("dossiers")
    with op.batch_alter_table("conflicts_of_interest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conflicts_of_interest_reviewer_id"))

    op.drop_table("conflicts_of_interest")
    op.drop_table("poles")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_status"))
        batch_op.drop_index(batch_op.f("ix_notifications_recipient"))

    op.drop_table("notifications")
    op.drop_table("job_runs")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_object")
        batch_op.drop_index(batch_op.f("ix_audit_events_at"))
        batch_op.drop_index(batch_op.f("ix_audit_events_actor_id"))
        batch_op.drop_index(batch_op.f("ix_audit_events_action"))

    op.drop_table("audit_events")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    op.drop_table("users")
    with op.batch_alter_table("document_types", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_types_call_id"))

    op.drop_table("document_types")
    with op.batch_alter_table("criteria", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_criteria_call_id"))

    op.drop_table("criteria")
    with op.batch_alter_table("call_categories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_categories_call_id"))

    op.drop_table("call_categories")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_status"))

    op.drop_table("outbox")
    op.drop_table("institutions")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_status"))

    op.drop_table("calls")
