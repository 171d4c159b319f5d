"""Links from the report into Label Studio: each pushed sample's task in the Label Studio UI.

The task of every pushed sample comes from the push record (``review/push_state.json``:
project id and ``sample_id -> task id``); the server comes from ``LABEL_STUDIO_URL`` in the
environment, the same variable ``curate review push`` uses, never from the record or a config.
A link is made only when the record was made against that server, so a page never links to a
server other than the one in the environment. The link holds the server's scheme, host, port
and path only: user info, a query or a fragment in ``LABEL_STUDIO_URL`` never reach the page.

The form of a link is the Label Studio UI's own: ``{server}/projects/{project}/data?task={task}``
opens the project's data manager with the task's labelling view.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from curate import layout
from curate.review.labelstudio import URL_ENV
from curate.review.sync import PushState


def _normalise(url: str) -> str:
    return url.strip().rstrip("/")


def _public_base(url: str) -> str | None:
    """``url`` as a link base: scheme, host, port and path; None unless http(s) with a host."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))


def task_url(base: str, project_id: int, task_id: int) -> str:
    """The Label Studio UI page of one task."""
    return f"{base}/projects/{int(project_id)}/data?task={int(task_id)}"


def task_links(root: str | Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{sample_id: url of its Label Studio task}`` for every pushed sample of the workspace at
    ``root``. Empty when nothing has been pushed, ``LABEL_STUDIO_URL`` is not set (or is not
    an http(s) URL), or the push record was made against another server. Raises ReviewError
    when the push record exists but cannot be read."""
    env = os.environ if env is None else env
    server = _normalise(env.get(URL_ENV) or "")
    if not server:
        return {}
    state = PushState.load(Path(root) / layout.PUSH_STATE)
    if state is None or _normalise(state.url) != server:
        return {}
    base = _public_base(server)
    if base is None:
        return {}
    return {
        sample_id: task_url(base, state.project_id, task_id)
        for sample_id, task_id in state.pushed.items()
        if isinstance(task_id, int) and not isinstance(task_id, bool)
    }


def link_html(sample_id: str, links: Mapping[str, str]) -> str:
    """The escaped ``sample_id``, as a link to its Label Studio task when ``links`` has one."""
    text = html.escape("" if sample_id is None else str(sample_id), quote=True)
    url = links.get(sample_id) if sample_id is not None else None
    if not url:
        return text
    href = html.escape(url, quote=True)
    return f'<a href="{href}" target="_blank" rel="noopener">{text}</a>'
