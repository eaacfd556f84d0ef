"""Allowed values of the enumerated columns (CHECK constraints and validation use these)."""

from __future__ import annotations

from typing import Final

DEFAULT_TIMEZONE: Final = "Asia/Ho_Chi_Minh"

ORG_KINDS: Final = ("household", "school", "operator")
ROLES: Final = ("parent", "teacher", "school_admin", "counsellor", "partner", "operator")
LOCALES: Final = ("vi", "en")
DEVICE_KINDS: Final = ("phone", "tablet", "laptop", "desktop", "console", "tv", "other")
YOUTUBE_MODES: Final = ("off", "moderate", "strict")
BLOCK_MODES: Final = ("null", "nxdomain", "blockpage")
LOG_LEVELS: Final = ("full", "domains", "off")
QUERY_ACTIONS: Final = ("allow", "block", "rewrite", "local", "servfail", "stale", "refused")
LIST_MATCHES: Final = ("exact", "suffix")
LIST_FORMATS: Final = ("auto", "hosts", "domains", "adblock")
CATEGORY_SOURCES: Final = ("auto", "operator")
# Alerts (safegate.protect): the text-harm categories, the severities that make an alert, and
# a parent's feedback on one.
ALERT_CATEGORIES: Final = (
    "sexual", "grooming", "self_harm", "bullying", "hate", "violence", "scam", "drugs",
    "gambling", "pii_disclosure",
    # From the gate's query log (safegate.protect.signals): a device trying to get around the
    # filter, and a device asking for malware names (migration 0007).
    "bypass_attempt", "infected_device",
)
ALERT_SEVERITIES: Final = ("warning", "urgent")
ALERT_FEEDBACK: Final = ("helpful", "wrong")
# Which layer of the safety engine found an alert: a rule, the n-gram model alone, the deep
# layer (sentence embeddings) alone, the grooming escalation over a conversation, or the
# gate's DNS signals (bypass attempts, infected devices; migration 0007).
ALERT_FOUND_BY: Final = ("rules", "model", "deep", "conversation", "dns")
# What a change announced on the change bus (safegate.app.bus) touched; "all" means
# "reload everything" (an operator's forced reload, or a change the log no longer names).
CHANGE_KINDS: Final = ("policy", "lists", "categories", "all")
# Parental control: what a weekly schedule window does, and an unblock request's state.
SCHEDULE_ACTIONS: Final = ("block", "allow")
REQUEST_STATUSES: Final = ("pending", "approved", "declined")
# Privacy (safegate.privacy, migration 0009): what a consent is for, who gave it and how, how a
# child's age was established, and data-subject requests.
CONSENT_PURPOSES: Final = ("filtering", "full_query_log", "message_monitoring", "alerts",
                           "reports", "partner_sharing")
CONSENT_GIVERS: Final = ("parent", "child")
CONSENT_METHODS: Final = ("cli", "web", "paper", "in_person")
AGE_SOURCES: Final = ("parent_attestation", "document", "unknown")
DSR_KINDS: Final = ("access", "correct", "restrict", "erase")
DSR_STATUSES: Final = ("open", "fulfilled", "refused")

# API tokens (safegate.web, migration 0008): read-only, or read and change.
TOKEN_SCOPES: Final = ("read", "write")

# Alert notifications (safegate.app.notify): how an alert reaches a parent, and how far its
# delivery on one channel got.
NOTIFY_CHANNELS: Final = ("email", "push")
DELIVERY_STATUSES: Final = ("sent", "failed", "gave_up")

# The breach register (docs/privacy.md, "Breaches").
BREACH_RISKS: Final = ("low", "medium", "high")
BREACH_STATUSES: Final = ("open", "contained", "closed")
BREACH_DATA_CLASSES: Final = ("profile", "devices", "policy", "query_log", "alerts",
                              "messages", "consents", "requests", "accounts", "audit_log",
                              "keys")
# Operator-facing notices (deadlines coming or past); one per kind and object.
NOTICE_KINDS: Final = ("dsr.reminder", "dsr.overdue", "breach.reminder", "breach.overdue")

# Schools and invites (migration 0012): the roles an invite link may carry.
INVITE_ROLES: Final = ("parent", "teacher")
