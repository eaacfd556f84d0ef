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


def test_a_class_moved_to_a_new_year_and_a_child_taken_out(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    csv = tmp_path / "hs.csv"
    csv.write_text("class,student,birth_year\n4A,Phạm Hoa,2017\n4A,Đinh Khang,2017\n")
    assert cli("migrate", *data).returncode == 0
    assert cli("org", "add", "Trường Kim Liên", "--kind", "school", *data).returncode == 0
    done = cli("school", "import", str(csv), "--year", "2026-2027", *data)
    assert done.returncode == 0, done.stderr
    [klass] = json.loads(cli("school", "classes", "--json", *data).stdout)
    moved = cli("school", "class-change", str(klass["id"]), "--name", "5A", "--year",
                "2027-2028", "--json", *data)
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout) == {**klass, "name": "5A", "school_year": "2027-2028"}
    out = cli("school", "class-remove-child", str(klass["id"]), "Phạm Hoa", "--json", *data)
    assert out.returncode == 0 and json.loads(out.stdout)["children"] == 1, out.stderr
    back = cli("school", "class-move-child", str(klass["id"]), "Phạm Hoa", "--json", *data)
    assert back.returncode == 0 and json.loads(back.stdout)["children"] == 2, back.stderr
    entries = json.loads(cli("audit", "list", "--json", *data).stdout)
    assert [e["action"] for e in entries if e["action"].startswith("class.")][:3] == [
        "class.member_move", "class.member_remove", "class.change"]
    assert all(e["actor"].startswith("cli:") for e in entries
               if e["action"].startswith("class."))
    assert cli("audit", "verify", *data).returncode == 0
    for args, message in ((["class-change", str(klass["id"])], "say what to change"),
                          (["class-change", str(klass["id"]), "--year", "2027"],
                           "school_year"),
                          (["class-move-child", str(klass["id"]), "Phạm Hoa"], "already"),
                          (["class-remove-child", "999", "Đinh Khang"], "no class 999")):
        refused = cli("school", *args, *data)
        assert refused.returncode != 0 and message in refused.stderr, (args, refused.stderr)
        assert "Traceback" not in refused.stderr
