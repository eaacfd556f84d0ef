"""`safegate org`, `child`, `device` and `policy`: households, schools and operators, their
children and devices, and each child's policy (see docs/parental-control.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from safegate.cli.common import (
    CONTEXT,
    cli_actor,
    common_options,
    emit,
    json_option,
    org_option,
    run_app,
)
from safegate.store import choices

F = TypeVar("F", bound=Callable[..., Any])

show_token_option = click.option("--show-token", is_flag=True,
                                 help="Also print device tokens (each is a device's secret).")
ON_OFF = click.Choice(["on", "off"])


def _emit(as_json: bool, data: Any, text: str) -> None:
    emit(data, as_json, text, indent=2)


def _on(value: str | None) -> bool | None:
    return None if value is None else value == "on"


# ---------------------------------------------------------------- org


@click.group(context_settings=CONTEXT)
def org() -> None:
    """Households, schools and operators."""


@org.command("add")
@common_options
@click.argument("name")
@click.option("--kind", type=click.Choice(choices.ORG_KINDS), default="household",
              show_default=True)
@click.option("--timezone", default=choices.DEFAULT_TIMEZONE, show_default=True,
              help="IANA time zone: birthdays, schedules and budgets use its local time.")
@json_option
def org_add(config: Path | None, data_dir: Path | None, name: str, kind: str, timezone: str,
            as_json: bool) -> None:
    """Add an organisation."""
    from safegate.app.family import add_org

    view = run_app(config, data_dir, add_org, name, kind, timezone)
    _emit(as_json, view.to_dict(), f"added {view.kind} {view.name!r} (id:{view.id}, "
                                   f"{view.timezone})")


@org.command("list")
@common_options
@json_option
def org_list(config: Path | None, data_dir: Path | None, as_json: bool) -> None:
    """List the organisations."""
    from safegate.app.family import list_orgs

    views = run_app(config, data_dir, list_orgs)
    _emit(as_json, [v.to_dict() for v in views],
          "\n".join(f"id:{v.id}\t{v.kind}\t{v.name}\t{v.timezone}\t{v.children} child(ren)"
                    for v in views) or "no organisations")


@org.command("rename")
@common_options
@click.argument("org_ref", metavar="ORG")
@click.argument("new_name")
@json_option
def org_rename(config: Path | None, data_dir: Path | None, org_ref: str, new_name: str,
               as_json: bool) -> None:
    """Rename an organisation (by name or id:N)."""
    from safegate.app.family import rename_org

    view = run_app(config, data_dir, rename_org, org_ref, new_name)
    _emit(as_json, view.to_dict(), f"renamed to {view.name!r}")


@org.command("delete")
@common_options
@click.argument("org_ref", metavar="ORG")
@click.option("--force", is_flag=True,
              help="Also delete its children with their devices, policies and logs.")
@json_option
def org_delete(config: Path | None, data_dir: Path | None, org_ref: str, force: bool,
               as_json: bool) -> None:
    """Delete an organisation (refused while it has children, unless --force)."""
    from safegate.app.family import delete_org

    count = run_app(config, data_dir, delete_org, org_ref, force=force)
    _emit(as_json, {"deleted": org_ref, "children_deleted": count},
          f"deleted {org_ref!r} and {count} child(ren)")


# ---------------------------------------------------------------- child


@click.group(context_settings=CONTEXT)
def child() -> None:
    """Children: each has a policy, devices, schedules and budgets."""


def _child_line(v: Any) -> str:
    return (f"id:{v.id}\t{v.name}\tborn {v.birth_year or '?'}\tpreset {v.preset or '-'}\t"
            f"{v.devices} device(s)\t{v.org}")


@child.command("add")
@common_options
@click.argument("name")
@click.option("--birth-year", type=int, required=True,
              help="Year of birth: gives the age band and its preset.")
@org_option
@json_option
def child_add(config: Path | None, data_dir: Path | None, name: str, birth_year: int,
              org: str | None, as_json: bool) -> None:
    """Add a child; the preset of its age band is applied."""
    from safegate.app.family import add_child

    view = run_app(config, data_dir, add_child, name, birth_year, org=org, actor=cli_actor())
    _emit(as_json, view.to_dict(), f"added {view.name!r} (id:{view.id}) to {view.org!r} with "
                                   f"the preset {view.preset}")


@child.command("list")
@common_options
@org_option
@json_option
def child_list(config: Path | None, data_dir: Path | None, org: str | None,
               as_json: bool) -> None:
    """List children (of one organisation with --org)."""
    from safegate.app.family import list_children

    views = run_app(config, data_dir, list_children, org, actor=cli_actor())
    _emit(as_json, [v.to_dict() for v in views],
          "\n".join(_child_line(v) for v in views) or "no children")


@child.command("rename")
@common_options
@click.argument("child_ref", metavar="CHILD")
@click.argument("new_name")
@org_option
@json_option
def child_rename(config: Path | None, data_dir: Path | None, child_ref: str, new_name: str,
                 org: str | None, as_json: bool) -> None:
    """Rename a child (by name or id:N)."""
    from safegate.app.family import rename_child

    view = run_app(config, data_dir, rename_child, child_ref, new_name, org=org, actor=cli_actor())
    _emit(as_json, view.to_dict(), f"renamed to {view.name!r}")


@child.command("delete")
@common_options
@click.argument("child_ref", metavar="CHILD")
@org_option
@json_option
def child_delete(config: Path | None, data_dir: Path | None, child_ref: str, org: str | None,
                 as_json: bool) -> None:
    """Delete a child with its devices, policy, schedules, budgets, requests and logs."""
    from safegate.app.family import delete_child

    name = run_app(config, data_dir, delete_child, child_ref, org=org, actor=cli_actor())
    _emit(as_json, {"deleted": name}, f"deleted {name!r}")


@child.command("preset")
@common_options
@click.argument("child_ref", metavar="CHILD")
@click.argument("preset", required=False)
@org_option
@json_option
def child_preset(config: Path | None, data_dir: Path | None, child_ref: str,
                 preset: str | None, org: str | None, as_json: bool) -> None:
    """Re-apply an age preset (default: the band of the child's age this year)."""
    from safegate.app.family import apply_preset

    view = run_app(config, data_dir, apply_preset, child_ref, preset, org=org)
    _emit(as_json, view.to_dict(), f"applied {view.preset} to {view.name!r}")


@child.command("link")
@common_options
@click.argument("child_ref", metavar="CHILD")
@click.option("--language", type=click.Choice(choices.LOCALES), default="vi",
              show_default=True, help="The words of the page the link opens.")
@click.option("--end", "end", is_flag=True, help="Stop the child's link instead.")
@click.option("--show", is_flag=True, help="Only say whether a link works (never its token).")
@json_option
def child_link_cmd(config: Path | None, data_dir: Path | None, child_ref: str, language: str,
                   end: bool, show: bool, as_json: bool) -> None:
    """A link the child can hold for their own page (what SafeGate keeps about them): made
    new (the old one stops), shown, or stopped. The token is printed once."""
    from safegate.app import child_link as links

    if show:
        view = run_app(config, data_dir, links.child_link, child_ref)
        _emit(as_json, {"link": view.to_dict() if view else None},
              f"a link works, made by {view.created_by} at {view.created_at:%Y-%m-%d %H:%M} "
              f"UTC, last opened {view.last_opened_at or 'never'}" if view else "no link")
        return
    if end:
        ended = run_app(config, data_dir, links.end_child_link, child_ref, actor=cli_actor())
        _emit(as_json, {"ended": ended}, "the link stopped" if ended else "no link to stop")
        return

    def make(app: Any) -> tuple[str, Any, str]:
        token, view = links.make_child_link(app, child_ref, actor=cli_actor(),
                                            language=language)
        return token, view, links.link_url(app, token)

    token, view, url = run_app(config, data_dir, make)
    _emit(as_json, {"link": view.to_dict(), "token": token, "url": url},
          f"link for {view.child!r} (shown once; the old one, if any, stopped): {url}"
          + ("" if url.startswith("http") else
             "\n(set notify.base_url to print the whole address)"))


# ---------------------------------------------------------------- device


@click.group(context_settings=CONTEXT)
def device() -> None:
    """A child's devices: by IP address or network, MAC, or token only."""


def _device_line(v: Any, show_token: bool) -> str:
    line = f"id:{v.id}\t{v.child}\t{v.name}\t{v.kind}\t{v.ip_cidr or '-'}\t{v.mac or '-'}"
    return f"{line}\t{v.token}" if show_token else line


@device.command("add")
@common_options
@click.argument("child_ref", metavar="CHILD")
@click.argument("name")
@click.option("--kind", type=click.Choice(choices.DEVICE_KINDS), default="other",
              show_default=True)
@click.option("--ip", metavar="IP|CIDR", help="The device's address or network.")
@click.option("--mac", help="The device's MAC (seen only through a trusted forwarder).")
@org_option
@show_token_option
@json_option
def device_add(config: Path | None, data_dir: Path | None, child_ref: str, name: str,
               kind: str, ip: str | None, mac: str | None, org: str | None, show_token: bool,
               as_json: bool) -> None:
    """Add a device to a child (no --ip or --mac: known only by its token)."""
    from safegate.app.family import add_device

    view = run_app(config, data_dir, add_device, child_ref, name, kind=kind, ip=ip, mac=mac,
                   org=org, actor=cli_actor())
    _emit(as_json, view.to_dict(show_token=show_token),
          f"added {view.name!r} (id:{view.id}) to {view.child!r}"
          + (f"; token {view.token}" if show_token else ""))


@device.command("list")
@common_options
@click.argument("child_ref", metavar="[CHILD]", required=False)
@org_option
@show_token_option
@json_option
def device_list(config: Path | None, data_dir: Path | None, child_ref: str | None,
                org: str | None, show_token: bool, as_json: bool) -> None:
    """List devices (of one child, or of every child)."""
    from safegate.app.family import list_devices

    views = run_app(config, data_dir, list_devices, child_ref, org=org,
                    actor=cli_actor())
    _emit(as_json, [v.to_dict(show_token=show_token) for v in views],
          "\n".join(_device_line(v, show_token) for v in views) or "no devices")


@device.command("rename")
@common_options
@click.argument("child_ref", metavar="CHILD")
@click.argument("device_ref", metavar="DEVICE")
@click.argument("new_name")
@org_option
@json_option
def device_rename(config: Path | None, data_dir: Path | None, child_ref: str, device_ref: str,
                  new_name: str, org: str | None, as_json: bool) -> None:
    """Rename a child's device (by name or id:N)."""
    from safegate.app.family import rename_device

    view = run_app(config, data_dir, rename_device, child_ref, device_ref, new_name, org=org,
                   actor=cli_actor())
    _emit(as_json, view.to_dict(), f"renamed to {view.name!r}")


@device.command("remove")
@common_options
@click.argument("child_ref", metavar="CHILD")
@click.argument("device_ref", metavar="DEVICE")
@org_option
@json_option
def device_remove(config: Path | None, data_dir: Path | None, child_ref: str,
                  device_ref: str, org: str | None, as_json: bool) -> None:
    """Remove a child's device."""
    from safegate.app.family import remove_device

    name = run_app(config, data_dir, remove_device, child_ref, device_ref, org=org,
                   actor=cli_actor())
    _emit(as_json, {"removed": name}, f"removed {name!r}")


@device.command("setup")
@common_options
@click.argument("child_ref", metavar="CHILD")
@click.argument("device_ref", metavar="DEVICE")
@org_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--qr", "qr", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a QR code of the DoH URL (FILE.svg or FILE.png).")
@click.option("--mobileconfig", "profile", type=click.Path(dir_okay=False, path_type=Path),
              help="Write an Apple configuration profile (unsigned) for iPhone, iPad, Mac.")
def device_setup(config: Path | None, data_dir: Path | None, child_ref: str, device_ref: str,
                 org: str | None, fmt: str, qr: Path | None, profile: Path | None) -> None:
    """How to give a device its own DNS address on every network: Android Private DNS,
    Apple profile, DoH URL, router, QR code (they carry the device's secret token)."""
    from safegate.app import setup

    def make(app: Any) -> Any:
        material = setup.device_setup(app, child_ref, device_ref, org=org)
        if qr is not None:
            setup.write_qr(material, qr)
        if profile is not None:
            setup.write_mobileconfig(material, profile)
        return material

    material = run_app(config, data_dir, make)
    data = material.to_dict()
    written = [str(p) for p in (qr, profile) if p is not None]
    if fmt == "json":
        data["written"] = written
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(data["instructions"]["vi"] + "\n\n" + data["instructions"]["en"])
    for path in written:
        click.echo(f"\nwrote {path}")


# ---------------------------------------------------------------- policy


@click.group(context_settings=CONTEXT)
def policy() -> None:
    """A child's policy: categories, services, rules, modes; export and import."""


def _policy_text(p: dict[str, Any]) -> str:
    lines = [f"{p['child']} (preset {p['preset'] or '-'})"]
    for key, value in p.items():
        if key in ("child", "preset"):
            continue
        if isinstance(value, list):
            value = ", ".join(value) or "-"
        elif isinstance(value, bool):
            value = "on" if value else "off"
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {v} min/day" for k, v in value.items()) or "-"
        lines.append(f"  {key}: {value}")
    return "\n".join(lines)


@policy.command("show")
@common_options
@click.argument("child_ref", metavar="CHILD")
@org_option
@json_option
def policy_show(config: Path | None, data_dir: Path | None, child_ref: str, org: str | None,
                as_json: bool) -> None:
    """Show a child's whole policy."""
    from safegate.app.family import show_policy

    p = run_app(config, data_dir, show_policy, child_ref, org=org, actor=cli_actor())
    _emit(as_json, p, _policy_text(p))


def _many(name: str, help_text: str) -> Callable[[F], F]:
    return click.option(name, multiple=True, help=help_text + " Repeatable.")


@policy.command("set")
@common_options
@click.argument("child_ref", metavar="CHILD")
@org_option
@_many("--block-category", "Block a category.")
@_many("--unblock-category", "Stop blocking a category.")
@_many("--block-service", "Block a service (see `safegate lists services`).")
@_many("--allow-service", "Allow a service even where a category blocks its domains.")
@_many("--monitor-service", "Never block a service, and log its queries as monitored.")
@_many("--default-service", "Put a service back in no mode (the categories decide).")
@_many("--allow", "Add an allow rule (a domain and everything under it).")
@_many("--remove-allow", "Remove an allow rule.")
@_many("--deny", "Add a deny rule.")
@_many("--remove-deny", "Remove a deny rule.")
@click.option("--log-level", type=click.Choice(choices.LOG_LEVELS))
@click.option("--bypass-protection", type=ON_OFF)
@click.option("--allow-list-only", type=ON_OFF,
              help="Only allow rules and allowed services resolve.")
@click.option("--decree147", type=ON_OFF,
              help="Decree 147/2024 game limits (a 180-minute daily budget for games).")
@json_option
def policy_set(config: Path | None, data_dir: Path | None, child_ref: str, org: str | None,
               block_category: tuple[str, ...], unblock_category: tuple[str, ...],
               block_service: tuple[str, ...], allow_service: tuple[str, ...],
               monitor_service: tuple[str, ...], default_service: tuple[str, ...],
               allow: tuple[str, ...], remove_allow: tuple[str, ...], deny: tuple[str, ...],
               remove_deny: tuple[str, ...], log_level: str | None,
               bypass_protection: str | None, allow_list_only: str | None,
               decree147: str | None, as_json: bool) -> None:
    """Change a child's policy; running gates apply it within a second."""
    from safegate.app.family import PolicyChange, set_policy

    change = PolicyChange(
        block_categories=block_category, unblock_categories=unblock_category,
        block_services=block_service, allow_services=allow_service,
        monitor_services=monitor_service, default_services=default_service,
        allow=allow, unallow=remove_allow, deny=deny, undeny=remove_deny,
        log_level=log_level, bypass_protection=_on(bypass_protection),
        allow_list_only=_on(allow_list_only), decree147=_on(decree147))
    p = run_app(config, data_dir, set_policy, child_ref, change, org=org, actor=cli_actor())
    _emit(as_json, p, _policy_text(p))


@policy.command("export")
@common_options
@org_option
@click.option("--format", "fmt", type=click.Choice(["toml", "json"]), default="toml",
              show_default=True)
@click.option("--with-tokens", is_flag=True, help="Include device tokens (secrets).")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False),
              help="Write to this file (default: standard output).")
def policy_export(config: Path | None, data_dir: Path | None, org: str | None, fmt: str,
                  with_tokens: bool, output: Path | None) -> None:
    """Export an organisation: children, devices, policies, schedules and budgets."""
    from safegate.app.family_file import export_org, to_toml

    doc = run_app(config, data_dir, export_org, org, with_tokens=with_tokens)
    text = (json.dumps(doc, ensure_ascii=False, indent=2) + "\n" if fmt == "json"
            else to_toml(doc))
    if output is None:
        click.echo(text, nl=False)
        return
    from safegate.files import write_private

    try:
        write_private(output, text.encode("utf-8"))
    except OSError as exc:
        raise click.ClickException(f"--output {output}: {exc}") from exc
    click.echo(f"wrote {output}", err=True)


@policy.command("import")
@common_options
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--replace", is_flag=True,
              help="Replace an organisation of the same name and everything in it.")
@json_option
def policy_import(config: Path | None, data_dir: Path | None, file: Path, replace: bool,
                  as_json: bool) -> None:
    """Import an organisation from TOML or JSON: all of it, or nothing."""
    from safegate.app.family_file import import_org, read_document

    def load_and_import(app: Any) -> dict[str, Any]:
        return import_org(app, read_document(file), replace=replace)

    summary = run_app(config, data_dir, load_and_import)
    _emit(as_json, summary, f"imported {summary['organisation']!r}: {summary['children']} "
                            f"child(ren), {summary['devices']} device(s)")


COMMANDS = [org, child, device, policy]
