"""Offline checks: every committed dashboard (both languages) passes the schema and the lint rules,
and each rule does catch what it is for."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from brain.cli import main
from dashboards import push as push_mod
from dashboards.build import DASHBOARDS, JSON_DIR, render
from dashboards.check import check_directory, lint_one, lint_set
from dashboards.model import LANGUAGES

FILES = sorted(JSON_DIR.glob("*/*.json"))


def test_every_dashboard_exists_in_every_language() -> None:
    assert {(p.parent.name, p.stem) for p in FILES} == {
        (lang, d.key) for lang in LANGUAGES for d in DASHBOARDS
    }


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_dashboard_passes_schema_and_lint(path: Path) -> None:
    from dashboards.check import _schema_problems

    doc = json.loads(path.read_text(encoding="utf-8"))
    problems = [*_schema_problems(str(path), doc), *lint_one(str(path), doc)]
    assert not problems, "\n".join(map(str, problems))


def test_check_directory_is_clean_and_up_to_date() -> None:
    assert check_directory(JSON_DIR) == []


def test_cli_check_exit_code(capsys) -> None:
    assert main(["dashboards", "check"]) == 0
    assert f"{len(LANGUAGES) * len(DASHBOARDS)} dashboard files, 0 problems" in capsys.readouterr().out


def _overview(lang: str = "en") -> dict[str, Any]:
    return render(DASHBOARDS[0], lang)


def _rules(doc: dict[str, Any]) -> set[str]:
    return {p.rule for p in lint_one("x.json", doc)}


def test_lint_catches_hard_coded_datasource_uid() -> None:
    doc = _overview()
    doc["panels"][0]["targets"][0]["datasource"] = {"type": "influxdb", "uid": "P951FEA4DE68E13C5"}
    assert "no-hardcoded-datasource-uid" in _rules(doc)


def test_lint_catches_missing_unit_title_and_query() -> None:
    doc = _overview()
    del doc["panels"][0]["fieldConfig"]["defaults"]["unit"]
    doc["panels"][1]["fieldConfig"]["defaults"]["unit"] = "percentunits"
    doc["panels"][2]["title"] = " "
    doc["panels"][3]["targets"] = []
    assert {"panel-units-rule", "panel-title-rule", "panel-query-rule"} <= _rules(doc)


def test_lint_catches_undefined_variable_and_ignored_time_range() -> None:
    doc = _overview()
    doc["panels"][0]["targets"][0]["query"] = (
        'from(bucket: "brain_kpi") |> range(start: -1h) |> filter(fn: (r) => r.line == "${lne}")'
    )
    assert {"target-variables-rule", "target-time-range-rule"} <= _rules(doc)


def test_lint_requires_the_datasource_variable() -> None:
    doc = _overview()
    doc["templating"]["list"] = [v for v in doc["templating"]["list"] if v["name"] != "datasource"]
    assert "template-datasource-rule" in _rules(doc)


def test_lint_set_catches_duplicate_uid_and_language_drift() -> None:
    en, zh = _overview("en"), _overview("zh")
    zh_changed = copy.deepcopy(zh)
    zh_changed["panels"][0]["targets"][0]["query"] += "\n  |> limit(n: 1)"
    rules = {p.rule for p in lint_set({Path("en/overview.json"): en, Path("zh/overview.json"): zh_changed})}
    assert "languages-rule" in rules
    dup = {p.rule for p in lint_set({Path("en/overview.json"): en, Path("en/other.json"): copy.deepcopy(en)})}
    assert "uid-unique-rule" in dup


def test_schema_rejects_unknown_keys(tmp_path: Path) -> None:
    doc = _overview()
    doc["panels"][0]["fieldconfig"] = {}
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "overview.json").write_text(json.dumps(doc))
    problems = check_directory(tmp_path, drift=False)
    assert any(p.rule == "schema" and "fieldconfig" in p.message for p in problems)


def test_check_reports_stale_files(tmp_path: Path) -> None:
    from dashboards.build import write

    write(tmp_path)
    path = tmp_path / "zh" / "energy.json"
    path.write_text(path.read_text(encoding="utf-8").replace("今日用电量", "今天用电"), encoding="utf-8")
    assert [p.rule for p in check_directory(tmp_path)] == ["drift"]


def test_push_without_the_extra_names_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "grafana_client", None)  # import fails as if not installed
    with pytest.raises(push_mod.PushError, match=r"industrial-brain\[grafana\]"):
        push_mod.connect("http://localhost:3000", "token")


def test_cli_push_without_the_extra(monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "grafana_client", None)
    assert main(["dashboards", "push", "--token", "t"]) == 1
    assert "[grafana]" in capsys.readouterr().err


class _NotFound(Exception):
    status_code = 404


class _FakeGrafana:
    """Stands in for grafana_client.GrafanaApi: records what push asks for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        outer = self

        class Folder:
            def get_folder(self, uid):
                raise _NotFound(uid)

            def create_folder(self, title, uid=None):
                outer.calls.append(("create_folder", uid))

        class Dash:
            def update_dashboard(self, body):
                outer.calls.append(("update_dashboard", body))

        self.folder, self.dashboard = Folder(), Dash()


def test_push_creates_folder_and_overwrites_every_dashboard() -> None:
    api = _FakeGrafana()
    uids = push_mod.push(api, ("en", "zh"))
    assert api.calls[0] == ("create_folder", push_mod.FOLDER_UID)
    bodies = [body for name, body in api.calls if name == "update_dashboard"]
    assert len(bodies) == len(uids) == 2 * len(DASHBOARDS)
    assert all(
        b["overwrite"] and b["folderUid"] == push_mod.FOLDER_UID and b["dashboard"]["id"] is None
        for b in bodies
    )
    assert "brain-overview" in uids and "brain-overview-zh" in uids
