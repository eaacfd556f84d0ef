"""`safegate consent give|withdraw|list|text|age`: a child's consents, the texts they were
given to, and how the child's age was established (docs/privacy.md)."""

from __future__ import annotations

from pathlib import Path

import click

from safegate.cli.common import CONTEXT, cli_actor, common_options, emit, json_option, run_app
from safegate.store import choices

purpose_argument = click.argument("purpose", type=click.Choice(choices.CONSENT_PURPOSES))


@click.group(context_settings=CONTEXT)
def consent() -> None:
    """Consents of parents and children (aged 7+) for each purpose."""


@consent.command("give")
@common_options
@click.argument("child_ref", metavar="CHILD")
@purpose_argument
@click.option("--by", "by", type=click.Choice(choices.CONSENT_GIVERS), required=True,
              help="Who gave it: the parent, or the child (aged 7 or over).")
@click.option("--language", type=click.Choice(choices.LOCALES), default="vi",
              show_default=True, help="The language of the text shown.")
@click.option("--method", type=click.Choice(choices.CONSENT_METHODS), default="cli",
              show_default=True, help="How it was given.")
@click.option("--text-version", "version", metavar="V",
              help="The version of the text shown (default: the newest).")
@json_option
def give(config: Path | None, data_dir: Path | None, child_ref: str, purpose: str, by: str,
         language: str, method: str, version: str | None, as_json: bool) -> None:
    """Record a consent (the text shown: `safegate consent text PURPOSE`)."""
    from safegate.app.consent import give_consent

    view = run_app(config, data_dir, give_consent, child_ref, purpose, by=by,
                   actor=cli_actor(), language=language, method=method, version=version)
    emit(view.to_dict(), as_json, f"consent {view.purpose} of {view.child!r} given by "
                                  f"{view.given_by} (text {view.text_version}, "
                                  f"{view.language}), id:{view.id}")


@consent.command("withdraw")
@common_options
@click.argument("child_ref", metavar="CHILD")
@purpose_argument
@click.option("--by", "by", type=click.Choice(choices.CONSENT_GIVERS),
              help="Only the consent this one gave (default: every active one).")
@json_option
def withdraw(config: Path | None, data_dir: Path | None, child_ref: str, purpose: str,
             by: str | None, as_json: bool) -> None:
    """Withdraw a consent; every gate applies it within a second."""
    from safegate.app.consent import withdraw_consent

    views = run_app(config, data_dir, withdraw_consent, child_ref, purpose, by=by,
                    actor=cli_actor())
    emit([v.to_dict() for v in views], as_json,
         f"withdrew {len(views)} {purpose} consent(s) of {child_ref!r}" if views
         else f"no active {purpose} consent of {child_ref!r} to withdraw")


@consent.command("list")
@common_options
@click.argument("child_ref", metavar="CHILD")
@click.option("--active", is_flag=True, help="Only those not withdrawn.")
@json_option
def list_(config: Path | None, data_dir: Path | None, child_ref: str, active: bool,
          as_json: bool) -> None:
    """A child's consents, oldest first (the reading is recorded in the audit log)."""
    from safegate.app.consent import list_consents

    views = run_app(config, data_dir, list_consents, child_ref, actor=cli_actor(),
                    active_only=active)
    emit([v.to_dict() for v in views], as_json, "\n".join(
        f"id:{v.id}\t{v.purpose}\tby {v.given_by}\ttext {v.text_version} ({v.language})\t"
        f"{v.given_at:%Y-%m-%d %H:%M}\t"
        + (f"withdrawn {v.withdrawn_at:%Y-%m-%d %H:%M}" if v.withdrawn_at else "active")
        for v in views) or f"no consents recorded for {child_ref!r}")


@consent.command("text")
@purpose_argument
@click.option("--language", type=click.Choice(choices.LOCALES), default="vi",
              show_default=True)
@click.option("--child", "for_child", is_flag=True, help="The wording for a child aged 7+.")
@click.option("--text-version", "version", metavar="V", help="An older version.")
@json_option
def text(purpose: str, language: str, for_child: bool, version: str | None,
         as_json: bool) -> None:
    """The consent text to show for a purpose."""
    from safegate.cli.common import user_errors
    from safegate.privacy.consent import describe

    with user_errors():
        data = describe(purpose, language, for_child=for_child, version=version)
    emit(data, as_json, f"[{data['purpose']} {data['version']} {data['language']}]\n"
                        f"{data['text']}")


@consent.command("age")
@common_options
@click.argument("child_ref", metavar="CHILD")
@click.option("--birth-year", type=int, required=True)
@click.option("--attested-by", required=True, metavar="WHO",
              help="Who attested it, e.g. parent:<name>.")
@click.option("--source", type=click.Choice(choices.AGE_SOURCES), default="parent_attestation",
              show_default=True)
@json_option
def age(config: Path | None, data_dir: Path | None, child_ref: str, birth_year: int,
        attested_by: str, source: str, as_json: bool) -> None:
    """Record how a child's age was established (birth year and who attested it)."""
    from safegate.app.consent import attest_age

    data = run_app(config, data_dir, attest_age, child_ref, birth_year,
                   attested_by=attested_by, actor=cli_actor(), source=source)
    emit(data, as_json, f"{data['child']}: born {data['birth_year']} (age {data['age']}), "
                        f"{data['source']} by {data['attested_by']}")


COMMANDS = [consent]
