"""`frontdesk train` and `export-training`: the intent model's data and training."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from frontdesk.cli.common import console, fail, parse_moment, settings_or_exit

if TYPE_CHECKING:
    from frontdesk.config import Settings
    from frontdesk.training.data import Example


def labelled_rows(data: list[Path] | None, with_seed: bool, oos_label: str | None) -> list[Example]:
    """The seed set and/or the given files, or exit 2 naming what is wrong with a file."""
    from frontdesk.training.intent_model import DataError, read_examples

    try:
        examples = read_examples() if with_seed or not data else []
        for path in data or []:
            examples += read_examples(path, oos_label=oos_label)
    except DataError as exc:
        raise fail(str(exc), code=2) from None
    return examples


def inbox_rows(settings: Settings) -> list[Example]:
    """What people confirmed or corrected in the inbox, oldest resolution first."""
    from frontdesk.runtime.services import open_store
    from frontdesk.training.data import Example

    store = open_store(settings)
    try:
        return [Example(text.strip(), intent) for text, intent, _, _ in store.training_rows()]
    finally:
        store.engine.dispose()


def format_scores(scores: dict[str, Any]) -> str:
    names = ["accuracy", "macro_f1", "oos_recall", "oos_precision", "ece"]
    shown = [f"{name} {scores[name]:.4f}" for name in names if scores.get(name) is not None]
    return ", ".join(shown) or "not measured (too few rows to hold some back)"


def train(
    data: Annotated[
        list[Path] | None,
        typer.Option(help="CSV or JSON of text and intent (repeatable); default the seed set"),
    ] = None,
    with_seed: Annotated[
        bool, typer.Option(help="add the shipped seed utterances to --data (for retraining)")
    ] = False,
    features: Annotated[
        str,
        typer.Option(help="tfidf, minilm, tfidf+minilm, or several joined by commas (one wins)"),
    ] = "tfidf+minilm",
    oos_label: Annotated[
        str | None, typer.Option(help="the file's out-of-scope label, if not out_of_scope")
    ] = None,
    inbox: Annotated[
        bool,
        typer.Option(
            help="add the rows people confirmed or corrected in the inbox of the configured "
            "store; a person's label overrides the same text's, the latest resolution winning"
        ),
    ] = True,
    promote: Annotated[
        str,
        typer.Option(
            help="better (if not worse on validation nor on the eval set's dev split), "
            "always or never"
        ),
    ] = "better",
    calibrate: Annotated[
        bool,
        typer.Option(
            help="when the model is promoted, fit the reply-confidence calibration on it "
            "(the dev split replayed, and the inbox's verdicts): about a minute"
        ),
    ] = True,
) -> None:
    """Train an intent model, store it in the registry, and promote it unless it is worse than
    the one serving on the held-back validation split or on the first turns of the evaluation
    set's dev split."""
    from frontdesk.training.data import merge_labels
    from frontdesk.training.features import FEATURE_SETS
    from frontdesk.training.models_dir import train_and_register

    settings = settings_or_exit()
    chosen = tuple(name.strip() for name in features.split(",") if name.strip())
    if not chosen or set(chosen) - set(FEATURE_SETS):
        raise fail(f"--features takes {', '.join(FEATURE_SETS)}; got {features!r}", code=2)
    if promote not in {"better", "always", "never"}:
        raise fail("--promote takes better, always or never", code=2)
    examples = labelled_rows(data, with_seed, oos_label)
    if inbox:
        people = inbox_rows(settings)
        examples = merge_labels(examples, people)
        console.print(f"using {len(people)} rows people labelled in the inbox")
    started = time.perf_counter()
    outcome = train_and_register(settings.data_dir, examples, promote_if=promote, features=chosen)
    model, scores = outcome.model, outcome.model.metadata.get("validation", {})
    console.print(
        f"trained {model.version} on {len(examples)} utterances, {len(model.labels)} intents, "
        f"in {time.perf_counter() - started:.1f} s; validation {format_scores(scores)}"
    )
    console.print(f"{outcome.reason}; a promoted model serves from the next start")
    if calibrate and outcome.promoted:
        from frontdesk.cli.evaluation import describe_calibration, fit_and_store
        from frontdesk.evaluation.dataset import load_items

        console.print(describe_calibration(fit_and_store(settings, load_items(), inbox, True)))


def export_training(
    out: Annotated[Path, typer.Option(help="CSV to write (text,intent,outcome,message_id)")],
    since: Annotated[str | None, typer.Option(help="only handoffs resolved since")] = None,
) -> None:
    """Write the messages people resolved, with the intent they confirmed or corrected; the
    file trains with `frontdesk train --data`."""
    from frontdesk.runtime.services import open_store

    rows = open_store(settings_or_exit()).training_rows(parse_moment(since) if since else None)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "intent", "outcome", "message_id"])
        writer.writerows(rows)
    console.print(f"wrote {len(rows)} rows to {out}")
