"""`safegate school …`: classes and teachers from the command line, and mistakes answered in
one line (a household is not a school, an account that is not a teacher, an unreadable
file), never a traceback. The CSV import itself is driven in tests/web/test_school.py."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import cli


def test_classes_and_teachers_from_the_command_line(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert cli("migrate", *data).returncode == 0
    assert cli("org", "add", "Trường Kim Liên", "--kind", "school", *data).returncode == 0
    assert cli("org", "add", "Nhà Lê", *data).returncode == 0
    made = cli("school", "class-add", "3A", "--org", "Trường Kim Liên", "--year", "2026-2027",
               "--json", *data)
    assert made.returncode == 0, made.stderr
    class_id = json.loads(made.stdout)["id"]
    for login, role in (("co.lan@kimlien.edu.vn", "teacher"), ("bgh@kimlien.edu.vn",
                                                                "school_admin")):
        added = cli("user", "add", login, "--role", role, "--org", "Trường Kim Liên",
                    "--password-stdin", *data, stdin="mật khẩu trường 2026\n")
        assert added.returncode == 0, added.stderr
    assigned = cli("school", "assign-teacher", str(class_id), "co.lan@kimlien.edu.vn", *data)
    assert assigned.returncode == 0 and "co.lan@kimlien.edu.vn" in assigned.stdout
    listed = cli("school", "classes", "--org", "Trường Kim Liên", "--json", *data)
    assert json.loads(listed.stdout) == [{"id": class_id, "name": "3A",
                                          "school_year": "2026-2027", "children": 0,
                                          "teachers": ["co.lan@kimlien.edu.vn"]}]
    for args, message in (
            (["class-add", "1A", "--org", "Nhà Lê"], "not a school"),
            (["class-add", "3B", "--org", "Trường Kim Liên", "--year", "2026"],
             "school_year"),
            (["assign-teacher", str(class_id), "bgh@kimlien.edu.vn"], "no teacher account"),
            (["assign-teacher", "999", "co.lan@kimlien.edu.vn"], "no class 999"),
            (["import", str(tmp_path / "missing.csv"), "--org", "Trường Kim Liên"],
             "cannot read")):
        refused = cli("school", *args, *data)
        assert refused.returncode == 1 and message in refused.stderr, (args, refused.stderr)
        assert "Traceback" not in refused.stderr
