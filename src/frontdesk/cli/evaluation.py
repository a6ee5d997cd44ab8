"""`frontdesk eval`: the intent model's scores, and `eval replay`, labelled conversations
replayed through the whole pipeline."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.table import Table

from frontdesk.cli.common import console, fail, settings_or_exit
from frontdesk.cli.training import format_scores, labelled_rows

if TYPE_CHECKING:
    from frontdesk.confidence.calibrator import ReplyCalibrator
    from frontdesk.config import Settings
    from frontdesk.evaluation.dataset import EvalItem

app = typer.Typer(
    help="Score the intent model (no subcommand) or replay labelled conversations.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@app.callback()
def intent_scores(
    ctx: typer.Context,
    data: Annotated[
        list[Path] | None,
        typer.Option(help="labelled CSV/JSON to score on; default the seed set's validation rows"),
    ] = None,
    version: Annotated[str | None, typer.Option(help="registry version; default current")] = None,
    oos_label: Annotated[str | None, typer.Option(help="the file's out-of-scope label")] = None,
    out: Annotated[Path, typer.Option(help="folder for the PNG figures")] = Path("intent-eval"),
) -> None:
    """Accuracy, macro-F1, OOS recall and precision, ECE; writes reliability.png and
    confusion.png. `frontdesk eval replay` replays labelled conversations instead."""
    if ctx.invoked_subcommand is not None:
        return
    import numpy as np

    from frontdesk.training.data import split_examples
    from frontdesk.training.metrics import (
        score_predictions,
        write_confusion_matrix,
        write_reliability_diagram,
    )
    from frontdesk.training.models_dir import RegistryError, current_version, load

    settings = settings_or_exit()
    chosen = version or current_version(settings.data_dir)
    if chosen is None:
        raise fail("no model promoted yet; run `frontdesk train` first")
    try:
        model = load(settings.data_dir, chosen)
    except RegistryError as exc:
        raise fail(str(exc)) from None
    examples = labelled_rows(data, False, oos_label) if data else split_examples(
        labelled_rows(None, True, None))[1]  # fmt: skip
    truth = [example.intent for example in examples]
    predicted, confidence = model.predicted_labels([example.text for example in examples])
    scores = score_predictions(truth, predicted, confidence)
    write_reliability_diagram(
        confidence, np.array(truth) == np.array(predicted), out / "reliability.png"
    )
    write_confusion_matrix(truth, predicted, out / "confusion.png")
    console.print(f"{model.version} on {len(examples)} rows: {format_scores(scores)}")
    console.print(f"wrote {out / 'reliability.png'} and {out / 'confusion.png'}")


# Short headings: the table must fit an 80-column terminal; docs/evaluation.md spells them out.
FIGURES = [
    ("automation_rate", "auto+right"),
    ("wrong_automatic_rate", "auto wrong"),
    ("to_human", "human"),
    ("to_specialist", "spec."),
    ("routine_to_specialist", "routine>spec."),
    ("cross_customer_disclosures", "leaks"),
]


@app.command()
def replay(
    file: Annotated[
        Path | None,
        typer.Argument(help="evaluation set (JSONL); default the set shipped with frontdesk"),
    ] = None,
    split: Annotated[
        Literal["dev", "test", "all"], typer.Option(help="which part of the set to replay")
    ] = "test",
    limit: Annotated[int | None, typer.Option(min=1, help="replay only the first N items")] = None,
    out: Annotated[Path, typer.Option(help="folder for replay.json and the figures")] = Path(
        "replay"
    ),
) -> None:
    """Replay labelled conversations through the real pipeline on a throwaway store: automation,
    wrong automatic replies, hand-offs, routine messages sent to a specialist and disclosures,
    per kind and intent, beside two baselines; writes replay.json, risk-coverage.png and
    reliability.png."""
    import numpy as np

    from frontdesk.evaluation.dataset import split as split_items
    from frontdesk.evaluation.replay import replay as run_replay
    from frontdesk.evaluation.replay import report, routed_on_confidence, write_risk_coverage
    from frontdesk.training.metrics import write_reliability_diagram

    settings = settings_or_exit()
    items = items_or_exit(file)
    if split != "all":
        dev, test = split_items(items)
        items = dev if split == "dev" else test
    items = items[:limit] if limit else items
    if not items:
        raise fail("no items to replay", code=2)
    with console.status("replaying…") as status:
        outcomes = run_replay(
            items, settings, lambda done, total: status.update(f"replayed {done}/{total}")
        )
    figures = report(outcomes, settings)
    out.mkdir(parents=True, exist_ok=True)
    (out / "replay.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    write_risk_coverage(figures["risk_coverage"], out / "risk-coverage.png")
    routed = routed_on_confidence(outcomes)
    write_reliability_diagram(
        np.array([o.confidence for o in routed]),
        np.array([o.right_reply for o in routed], dtype=float),
        out / "reliability.png",
    )
    console.print(_table(f"{len(items)} items ({split})", _rows(figures)))
    console.print(_table("system, by kind", figures["system"]["by_kind"]))
    console.print(
        f"intent accuracy {figures['system']['intent_accuracy']:.3f}, calibration error of the "
        f"routing confidence {figures['system']['calibration_error']:.3f} on the {len(routed)} "
        "drafts it routed (of every draft, rules' hand-offs included, "
        f"{figures['system']['calibration_error_all_drafts']:.3f}); wrote "
        f"{out / 'replay.json'}, {out / 'risk-coverage.png'} and {out / 'reliability.png'}"
    )


@app.command()
def calibrate(
    file: Annotated[
        Path | None,
        typer.Argument(help="evaluation set (JSONL); default the set shipped with frontdesk"),
    ] = None,
    inbox: Annotated[
        bool, typer.Option(help="also fit on the verdicts people gave drafts in the inbox")
    ] = True,
    promote: Annotated[
        bool, typer.Option(help="serve the fitted calibrator from the next start")
    ] = True,
) -> None:
    """Fit the reply-confidence calibration on the dev split replayed through the pipeline (and
    the inbox's verdicts), choose the automatic threshold for routing.max_wrong_auto_rate, and
    store it as a new version."""
    from frontdesk.evaluation.dataset import split as split_items

    settings = settings_or_exit()
    items = items_or_exit(file)
    if not split_items(items)[0]:
        name = file or "the shipped evaluation set"
        raise fail(f"{name} has no items on the dev side of the split to fit on", code=2)
    console.print(describe_calibration(fit_and_store(settings, items, inbox, promote)))


def items_or_exit(file: Path | None) -> list[EvalItem]:
    """The evaluation items of `file` (None: the shipped set), or exit 2 saying what is wrong."""
    from frontdesk.evaluation.dataset import EvalSetError, load_items

    try:
        return load_items(file)
    except (EvalSetError, OSError) as exc:
        raise fail(str(exc), code=2) from None


def fit_and_store(
    settings: Settings, items: Sequence[EvalItem], inbox: bool, promote: bool
) -> ReplyCalibrator:
    """Fit a calibrator on the dev split of `items` and the inbox's verdicts, and store it."""
    from frontdesk.confidence.registry import save
    from frontdesk.evaluation.calibration import fit_calibrator
    from frontdesk.runtime.services import open_store

    verdicts = []
    if inbox:
        store = open_store(settings)
        try:
            verdicts = store.reply_verdicts()
        finally:
            store.engine.dispose()
    with console.status("replaying the dev split…") as status:
        calibrator = fit_calibrator(
            items,
            settings,
            verdicts,
            lambda done, total: status.update(f"replayed {done}/{total} dev items"),
        )
    save(settings.data_dir, calibrator, promote=promote)
    return calibrator


def describe_calibration(calibrator: ReplyCalibrator) -> str:
    meta = calibrator.metadata
    losses = meta["cross_validated_log_loss"]
    best = min(losses.values())
    return (
        f"reply-confidence calibrator {calibrator.version}: {calibrator.method} "
        f"(C={meta['regularization']}) on "
        f"{meta['rows']} drafts ({meta['dev_items']} dev items, {meta['inbox_verdicts']} inbox "
        f"verdicts; {meta['right_share']:.1%} right); cross-validated log loss {best:.4f} "
        f"(best of {len(losses)} settings); "
        f"automatic above {calibrator.auto_threshold:.4f} for at most "
        f"{meta['max_wrong_auto_rate']:.1%} wrong"
    )


def _rows(figures: dict[str, Any]) -> dict[str, dict[str, Any]]:
    rows = {"system": figures["system"]["overall"]}
    for name, baseline in figures["baselines"].items():
        rows[name.replace("_", " ").replace("intent confidence only", "intent conf.")] = baseline[
            "overall"
        ]
    return rows


def _table(title: str, rows: dict[str, dict[str, Any]]) -> Table:
    table = Table(title=title)
    table.add_column("")
    table.add_column("items", justify="right")
    for _, label in FIGURES:
        table.add_column(label, justify="right")
    for name, row in rows.items():
        cells = [
            f"{row[key]:.1%}" if isinstance(row[key], float) else str(row[key])
            for key, _ in FIGURES
        ]
        table.add_row(name, str(row["items"]), *cells)
    return table
