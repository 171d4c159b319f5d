"""Headless-Chromium screenshots of Label Studio's labeling UI (playwright, sync API).

Uses the Debian ``chromium`` package (``apt-get install -y chromium``) through playwright's
``executable_path``; ``playwright install`` is never needed.  Override the binary with
``CURATE_CHROMIUM``.

``/projects/{pid}/data?task={tid}`` opens the data manager with the labeling panel for that
task.  For a task without annotations LS 1.23 creates a (client-side) draft annotation
pre-filled from the task's prediction, so the prediction's choice shows as a checked
``<input class="ant-checkbox-input" name="<choice value>">`` inside ``.lsf-choices``
(``ant-radio-input`` for ``choice="single-radio"``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

_CANDIDATES = (
    "/usr/lib/chromium/chromium",  # the real binary of Debian's chromium package
    "/usr/bin/chromium",  # Debian's wrapper script
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
)

# Rendered labeling interface (LSF 1.23 class names).
MAIN_VIEW = ".lsf-main-view__annotation"
OBJECT_OR_CONTROL = f"{MAIN_VIEW} .lsf-object, {MAIN_VIEW} .lsf-choices, {MAIN_VIEW} img"
CHECKED_CHOICES = (
    ".lsf-choices input.ant-checkbox-input:checked, .lsf-choices input.ant-radio-input:checked"
)
ANNOTATION_TABS = ".lsf-annotations-carousel .lsf-annotation-button"


def chromium_path() -> str | None:
    env = os.environ.get("CURATE_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for cand in _CANDIDATES:
        if Path(cand).exists():
            return cand
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return found


def playwright_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def browser_skip_reason() -> str | None:
    if os.environ.get("CURATE_REQUIRE_INTEGRATION") == "1":
        return None  # in CI a missing browser must fail the test, not skip it
    if not playwright_available():
        return "playwright is not installed (pip install playwright)"
    if chromium_path() is None:
        return "chromium is not installed (apt-get install -y chromium)"
    return None


def screenshot_task(
    server: Any,
    project_id: int,
    task_id: int,
    path: str | os.PathLike,
    *,
    timeout_s: float = 60.0,
    viewport: tuple[int, int] = (1400, 900),
) -> dict[str, Any]:
    """Log into LS as ``server.username``, open task ``task_id`` in the labeling UI, wait for it
    to render and save a full-page PNG to ``path``.

    Returns ``{"url", "text", "text_visible", "selected_choices", "images", "annotation_tabs",
    "screenshot"}``: ``text`` is the rendered text of the labeling area, ``text_visible``
    whether a ``<Text>`` object rendered non-empty, ``selected_choices`` the values of checked
    choices (pre-selected from the prediction when the task has no annotation), ``images`` one
    ``{"src", "loaded", "width", "height"}`` per ``<img>`` in the labeling area,
    ``annotation_tabs`` one ``{"text", "selected", "draft", "prediction"}`` per annotation /
    prediction tab above the labeling area, ``media_error`` whether LSF reported a URL it
    could not load.
    """
    from playwright.sync_api import sync_playwright

    exe = chromium_path()
    if exe is None:
        raise RuntimeError("chromium not found; apt-get install -y chromium")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    timeout_ms = timeout_s * 1000
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=exe,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            page.set_default_timeout(timeout_ms)
            page.goto(f"{server.url}/user/login/")
            page.fill("input#email", server.username)
            page.fill("input#password", server.password)
            page.click("form#login-form button[type=submit]")
            page.wait_for_url(lambda u: "/user/login" not in u)

            page.goto(f"{server.url}/projects/{project_id}/data?task={task_id}")
            page.wait_for_selector(OBJECT_OR_CONTROL, state="visible")
            # let LSF finish deserialising the prediction/annotation and load media
            page.wait_for_load_state("networkidle")
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('.lsf-main-view__annotation img'))"
                ".every(i => i.complete)"
            )
            page.wait_for_timeout(500)

            main = page.locator(MAIN_VIEW).first
            text = main.inner_text()
            richtext = page.locator(f"{MAIN_VIEW} .lsf-richtext")
            text_visible = (
                richtext.count() > 0
                and richtext.first.is_visible()
                and bool(richtext.first.inner_text().strip())
            )
            selected = [
                el.get_attribute("name")
                for el in page.locator(f"{MAIN_VIEW} {CHECKED_CHOICES}").all()
            ]
            images = page.eval_on_selector_all(
                f"{MAIN_VIEW} img",
                "els => els.map(i => ({src: i.currentSrc || i.src,"
                " loaded: i.complete && i.naturalWidth > 0,"
                " width: i.naturalWidth, height: i.naturalHeight}))",
            )
            tabs = page.eval_on_selector_all(
                ANNOTATION_TABS,
                "els => els.map(e => ({text: e.innerText.replace(/\\s+/g, ' ').trim(),"
                " selected: e.className.includes('_selected'),"
                " draft: e.className.includes('_draft'),"
                " prediction: !!e.querySelector('[class*=userpic_prediction]')}))",
            )
            page.screenshot(path=str(path), full_page=True)
            return {
                "url": page.url,
                "text": text,
                "text_visible": text_visible,
                "selected_choices": selected,
                "images": images,
                "annotation_tabs": tabs,
                # LSF replaces an object it cannot load by this message (e.g. a local-files
                # URL answering 404 because no local storage covers it)
                "media_error": "There was an issue loading URL" in text,
                "screenshot": str(path),
            }
        finally:
            browser.close()


@contextlib.contextmanager
def open_page(path: Path, width: int = 1280, height: int = 900):
    """A local HTML file open in headless Chromium: yields ``(tab, errors)``, ``errors``
    collecting every console error and uncaught page error."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                     args=["--no-sandbox"])  # fmt: skip
        try:
            tab = browser.new_page(viewport={"width": width, "height": height})
            tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            tab.on("pageerror", lambda e: errors.append(str(e)))
            tab.goto(Path(path).as_uri())
            tab.wait_for_load_state("load")
            yield tab, errors
        finally:
            browser.close()
