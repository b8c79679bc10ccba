"""Push the dashboard JSON to a running Grafana over its HTTP API (grafana-client).

grafana-client brings niquests and urllib3-future, which replaces urllib3 for every package in the
environment, so it is an optional extra (`pip install 'industrial-brain[grafana]'`, best in an
environment of its own) and imported only here, only when `brain dashboards push` runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dashboards.build import JSON_DIR
from dashboards.model import LANGUAGES

FOLDER_UID = "industrial-brain"
FOLDER_TITLE = "Industrial Brain"
EXTRA_HINT = (
    "brain dashboards push needs the optional extra `grafana`: pip install 'industrial-brain[grafana]' "
    "(it replaces urllib3 with urllib3-future, so prefer a separate virtual environment)"
)


class PushError(RuntimeError):
    """The push could not be done; the message says why and what to do."""


def connect(url: str, token: str) -> Any:
    """A grafana_client.GrafanaApi for `url`, authenticated with a service-account token."""
    try:
        from grafana_client import GrafanaApi
    except ImportError as exc:
        raise PushError(EXTRA_HINT) from exc
    return GrafanaApi.from_url(url=url, credential=token)


def dashboards_for(langs: tuple[str, ...], directory: Path = JSON_DIR) -> list[dict[str, Any]]:
    docs = []
    for lang in langs:
        files = sorted((directory / lang).glob("*.json"))
        if not files:
            raise PushError(f"no dashboards in {directory / lang}: run `brain dashboards build`")
        docs += [json.loads(path.read_text(encoding="utf-8")) for path in files]
    return docs


def push(api: Any, langs: tuple[str, ...] = LANGUAGES, directory: Path = JSON_DIR) -> list[str]:
    """Create the folder if missing, then create or overwrite every dashboard; returns their uids."""
    docs = dashboards_for(langs, directory)
    try:
        api.folder.get_folder(FOLDER_UID)
    except Exception as exc:  # grafana_client raises GrafanaClientError (404) for a missing folder
        if getattr(exc, "status_code", None) != 404:
            raise PushError(f"cannot read folder {FOLDER_UID!r} from Grafana: {exc}") from exc
        api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
    pushed = []
    for doc in docs:
        body = {
            "dashboard": {**doc, "id": None},
            "folderUid": FOLDER_UID,
            "overwrite": True,
            "message": "brain dashboards push",
        }
        try:
            api.dashboard.update_dashboard(body)
        except Exception as exc:
            raise PushError(f"Grafana rejected dashboard {doc.get('uid')!r}: {exc}") from exc
        pushed.append(doc["uid"])
    return pushed
