"""Fitted reply-confidence calibrators under the data directory, and which one serves.

    data_dir/models/reply-confidence/<version>.json   a fitted calibrator (plain JSON)
    data_dir/models/reply-confidence/current          the version serving

The pointer is rewritten atomically (write, then rename), like the intent model's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from frontdesk.confidence.calibrator import ReplyCalibrator

CURRENT = "current"


class CalibrationError(LookupError):
    """A calibrator version that is not there or cannot be read."""


def calibrator_dir(data_dir: Path) -> Path:
    return data_dir / "models" / "reply-confidence"


def save(data_dir: Path, calibrator: ReplyCalibrator, *, promote: bool) -> Path:
    folder = calibrator_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{calibrator.version}.json"
    path.write_text(json.dumps(calibrator.to_json(), indent=1), encoding="utf-8")
    if promote:
        pointer = folder / f".{CURRENT}.{os.getpid()}"
        pointer.write_text(calibrator.version, encoding="utf-8")
        pointer.replace(folder / CURRENT)
    return path


def load(data_dir: Path, version: str) -> ReplyCalibrator:
    path = calibrator_dir(data_dir) / f"{version}.json"
    try:
        return ReplyCalibrator.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise CalibrationError(
            f"no reply-confidence calibrator {version!r} in {path.parent}"
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise CalibrationError(f"{path} is not a reply-confidence calibrator ({exc})") from None


def load_current(data_dir: Path) -> ReplyCalibrator | None:
    """The serving calibrator, or None before one was fitted (`frontdesk train` fits one)."""
    pointer = calibrator_dir(data_dir) / CURRENT
    if not pointer.is_file():
        return None
    return load(data_dir, pointer.read_text(encoding="utf-8").strip())
