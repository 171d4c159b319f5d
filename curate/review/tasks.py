"""Label Studio formats, as pure functions: the labeling config, tasks built from queue items,
and annotations read back as review decisions.

The labeling interface shows the sample (text or image), why it is in the queue, and two
controls: ``label`` (one choice per class; the model's suggestion arrives pre-selected as a
prediction) and ``action`` (a single "remove" choice: not a valid sample, or a duplicate).

An annotation becomes one decision:

* ``remove`` when the remove choice is ticked;
* ``relabel`` when the chosen class differs from the sample's given label (for a pool sample
  without a label, any chosen class: it becomes labelled);
* ``keep`` when the chosen class equals the given label, or nothing is chosen on a labelled
  sample;
* ``skip`` when the annotator skipped the task (cancelled), or chose nothing on a pool
  sample. Skips are logged but change nothing.
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

LABEL_CONTROL = "label"
ACTION_CONTROL = "action"
REMOVE = "remove"
DECISIONS = ("keep", "relabel", "remove", "skip")

#: Task data fields (besides the input) shown in the Data Manager.
TASK_FIELDS = ("sample_id", "kind", "kinds", "reasons", "priority", "given_label", "split")


def object_name(modality: str) -> str:
    """The labeling config's object tag name (also the task data key holding the input)."""
    return "image" if modality == "image" else "text"


def labeling_config(modality: str, classes: Sequence[str]) -> str:
    """The labeling config XML for ``modality`` and ``classes``.

    Class names go through XML attribute quoting, so ``R&D <internal>`` or names with quotes
    are shown and stored exactly as written.
    """
    obj = object_name(modality)
    tag = "Image" if obj == "image" else "Text"
    choices = "\n".join(f"    <Choice value={quoteattr(str(c))}/>" for c in classes)
    return f"""<View>
  <Header value="$headline" size="5"/>
  <{tag} name="{obj}" value="${obj}"/>
  <View style="margin-top: 8px; padding: 6px; background: #f6f6f6; border-radius: 4px">
    <Header value="Why this sample is here" size="6"/>
    <Text name="reasons" value="$reasons"/>
  </View>
  <Header value="Correct label" size="6"/>
  <Choices name="{LABEL_CONTROL}" toName="{obj}" choice="single-radio" showInline="true">
{choices}
  </Choices>
  <Choices name="{ACTION_CONTROL}" toName="{obj}" choice="single">
    <Choice value="Remove this sample (not a valid sample, or a duplicate)" alias="{REMOVE}"/>
  </Choices>
</View>
"""


def image_reference(path: Path, mode: str, files_root: Path | None = None) -> str:
    """How a task refers to an image: an inline ``data:`` URI, or a Label Studio local-files
    URL relative to ``files_root`` (LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT)."""
    if mode == "local_files":
        from urllib.parse import quote

        assert files_root is not None
        rel = path.resolve().relative_to(files_root.resolve())
        return f"/data/local-files/?d={quote(rel.as_posix())}"
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def task_for(item: Mapping[str, Any], modality: str, input_ref: str, model_version: str) -> dict:
    """One Label Studio task (data + the suggestion as a prediction) for a queue item."""
    obj = object_name(modality)
    given = item.get("given_label")
    headline = f"{item['kind'].replace('_', ' ')} · " + (
        f"given label: {given}" if given is not None else "unlabelled"
    )
    data = {
        obj: input_ref,
        "headline": headline,
        "sample_id": item["sample_id"],
        "kind": item["kind"],
        "kinds": ", ".join(item.get("kinds") or [item["kind"]]),
        "reasons": item["reasons"],
        "priority": float(item["priority"]),
        "given_label": given,
        "split": item.get("split"),
    }
    task: dict[str, Any] = {"data": data}
    suggested = item.get("suggested_label")
    if suggested is not None:
        task["predictions"] = [
            {
                "model_version": model_version,
                "score": float(item.get("suggested_confidence") or 0.0),
                "result": [
                    {
                        "from_name": LABEL_CONTROL,
                        "to_name": obj,
                        "type": "choices",
                        "value": {"choices": [suggested]},
                    }
                ],
            }
        ]
    return task


def _choices(result: Sequence[Mapping[str, Any]], control: str) -> list[str]:
    out: list[str] = []
    for region in result or ():
        if region.get("from_name") == control and region.get("type") == "choices":
            out.extend(region.get("value", {}).get("choices", []))
    return out


def decision_of(annotation: Mapping[str, Any], given_label: str | None) -> tuple[str, str | None]:
    """``(decision, new_label)`` for one annotation (see the module docstring)."""
    if annotation.get("was_cancelled"):
        return "skip", None
    result = annotation.get("result") or []
    actions = _choices(result, ACTION_CONTROL)
    if REMOVE in actions or any(a.lower().startswith("remove") for a in actions):
        return "remove", None
    labels = _choices(result, LABEL_CONTROL)
    if not labels:
        return ("keep", None) if given_label is not None else ("skip", None)
    chosen = labels[0]
    if chosen == given_label:
        return "keep", None
    return "relabel", chosen


def parse_time(value: Any) -> datetime:
    """Label Studio timestamps (ISO 8601, with ``Z`` or an offset) as aware UTC datetimes."""
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def annotator_of(
    annotation: Mapping[str, Any], users: Mapping[int, str] | None = None
) -> tuple[int | None, str]:
    """``(user id, name)`` of the annotator: the name is the email when Label Studio gives
    one (or ``users`` maps the id), else ``user:<id>``. Decisions are counted per user id, so
    a name that differs between pull and webhook never splits one annotator in two."""
    who = annotation.get("completed_by")
    email = None
    if isinstance(who, Mapping):
        email = who.get("email")
        who = who.get("id")
    user_id = int(who) if who is not None else None
    if not email and users and user_id in users:
        email = users[user_id]
    if email:
        return user_id, str(email)
    return user_id, f"user:{user_id}" if user_id is not None else "unknown"


def correction_row(
    annotation: Mapping[str, Any],
    task: Mapping[str, Any],
    project_id: int,
    source: str,
    users: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """One corrections-log row for ``annotation`` on ``task`` (see
    :mod:`curate.review.corrections` for the columns). Raises ``KeyError``/``ValueError`` on
    payloads that do not look like a curate task's annotation."""
    data = task["data"]
    sample_id = data["sample_id"]
    if not isinstance(sample_id, str) or not sample_id:
        raise ValueError("task data has no sample_id")
    given = data.get("given_label")
    decision, new_label = decision_of(annotation, given)
    updated = parse_time(annotation.get("updated_at") or annotation["created_at"])
    annotation_id = int(annotation["id"])
    annotator_id, annotator = annotator_of(annotation, users)
    return {
        "entry_id": f"{annotation_id}@{updated.isoformat(timespec='microseconds')}",
        "sample_id": sample_id,
        "project_id": int(project_id),
        "task_id": int(task["id"]),
        "annotation_id": annotation_id,
        "annotator_id": annotator_id,
        "annotator": annotator,
        "time": updated,
        "decision": decision,
        "new_label": new_label,
        "given_label": given,
        "kind": data.get("kind"),
        "ground_truth": bool(annotation.get("ground_truth", False)),
        "source": source,
    }
