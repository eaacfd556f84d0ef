"""`safegate school …`: a school's classes, teachers and the CSV import of its students and
devices (docs/web.md, "Schools")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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

year_option = click.option("--year", "school_year", metavar="YYYY-YYYY",
                           help="The school year (default: the current one).")


@click.group(context_settings=CONTEXT)
def school() -> None:
    """A school: classes, teachers, and the CSV import of students and devices."""


@school.command("import", context_settings=CONTEXT)
@common_options
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@org_option
@year_option
@json_option
def import_(config: Path | None, data_dir: Path | None, file: Path, org: str | None,
            school_year: str | None, as_json: bool) -> None:
    """Import students and devices from a CSV file (columns: class, student, birth_year,
    device, kind, address): every row, or nothing and each bad row named."""
    from safegate.app.school import school_id
    from safegate.app.school_import import MAX_BYTES, import_csv

    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror}") from None

    def run(app: Any) -> dict[str, Any]:
        return import_csv(app, school_id(app, org), data, school_year=school_year,
                          actor="operator")

    done = run_app(config, data_dir, run)
    emit(done, as_json, f"imported {done['rows']} row(s): {done['classes']} new class(es), "
                        f"{done['students']} new student(s), {done['devices']} device(s) "
                        f"({done['school_year']})")


@school.command("class-add", context_settings=CONTEXT)
@common_options
@click.argument("name")
@org_option
@year_option
@json_option
def class_add(config: Path | None, data_dir: Path | None, name: str, org: str | None,
              school_year: str | None, as_json: bool) -> None:
    """Add a class to a school."""
    from safegate.app.school import add_class, school_id

    view = run_app(config, data_dir, lambda app: add_class(app, school_id(app, org), name,
                                                           school_year, actor=cli_actor()))
    emit(view.to_dict(), as_json, f"class #{view.id}: {view.name} ({view.school_year})")


@school.command("classes", context_settings=CONTEXT)
@common_options
@org_option
@json_option
def classes(config: Path | None, data_dir: Path | None, org: str | None,
            as_json: bool) -> None:
    """A school's classes, their children and teachers."""
    from safegate.app.school import list_classes, school_id

    views = run_app(config, data_dir, lambda app: list_classes(app, school_id(app, org)))
    emit([v.to_dict() for v in views], as_json, "\n".join(
        f"#{v.id} {v.name} ({v.school_year}): {v.children} child(ren); teachers: "
        f"{', '.join(v.teachers) or '-'}" for v in views) or "no classes")


@school.command("assign-teacher", context_settings=CONTEXT)
@common_options
@click.argument("class_id", type=int)
@click.argument("login")
@json_option
def assign(config: Path | None, data_dir: Path | None, class_id: int, login: str,
           as_json: bool) -> None:
    """Assign a teacher's account (LOGIN, of the same school) to class CLASS_ID."""
    from safegate.app.school import assign_teacher, class_exists

    def run(app: Any) -> Any:
        return assign_teacher(app, class_exists(app, class_id), login, actor=cli_actor())

    view = run_app(config, data_dir, run)
    emit(view.to_dict(), as_json, f"class #{view.id} {view.name}: teachers "
                                  f"{', '.join(view.teachers)}")


@school.command("class-change", context_settings=CONTEXT)
@common_options
@click.argument("class_id", type=int)
@click.option("--name", metavar="NAME", help="A new name for the class.")
@year_option
@json_option
def class_change(config: Path | None, data_dir: Path | None, class_id: int,
                 name: str | None, school_year: str | None, as_json: bool) -> None:
    """Rename class CLASS_ID or move it to another school year (--year): its children and
    teachers go with it."""
    from safegate.app.school import change_class, class_exists

    if name is None and school_year is None:
        raise click.UsageError("say what to change: --name or --year")

    def run(app: Any) -> Any:
        return change_class(app, class_exists(app, class_id), name=name,
                            school_year=school_year, actor=cli_actor())

    view = run_app(config, data_dir, run)
    emit(view.to_dict(), as_json, f"class #{view.id}: {view.name} ({view.school_year})")


@school.command("class-remove-child", context_settings=CONTEXT)
@common_options
@click.argument("class_id", type=int)
@click.argument("child")
@json_option
def class_remove_child(config: Path | None, data_dir: Path | None, class_id: int,
                       child: str, as_json: bool) -> None:
    """Take CHILD (a name or id:N) out of class CLASS_ID; the child stays in the school."""
    from safegate.app.school import child_id, class_exists, remove_pupil

    def run(app: Any) -> Any:
        return remove_pupil(app, class_exists(app, class_id), child_id(app, child),
                            actor=cli_actor())

    view = run_app(config, data_dir, run)
    emit(view.to_dict(), as_json, f"class #{view.id} {view.name}: {view.children} child(ren)")


@school.command("class-move-child", context_settings=CONTEXT)
@common_options
@click.argument("class_id", type=int)
@click.argument("child")
@json_option
def class_move_child(config: Path | None, data_dir: Path | None, class_id: int,
                     child: str, as_json: bool) -> None:
    """Put CHILD (a name or id:N) into class CLASS_ID, out of the class they were in: the
    old class's school hours leave the child, the new class's come with them."""
    from safegate.app.school import child_id, class_exists, move_pupil

    def run(app: Any) -> Any:
        return move_pupil(app, class_exists(app, class_id), child_id(app, child),
                          actor=cli_actor())

    view = run_app(config, data_dir, run)
    emit(view.to_dict(), as_json, f"class #{view.id} {view.name}: {view.children} child(ren)")


COMMANDS = [school]
