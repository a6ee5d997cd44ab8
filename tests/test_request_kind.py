"""The request-kind signal: does a message ask for information or for an action on the
customer's own order, account or payment?"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold

from frontdesk.training.calibration import expected_calibration_error
from frontdesk.training.data import DataError
from frontdesk.training.request_kind import (
    ACTION,
    INFORMATION,
    RequestKindModel,
    normalise,
    read_request_rows,
    shipped_request_model,
)

HARD_CASES = Path(__file__).parent / "data" / "request_kind_hard_cases.csv"

# Asking about a rule versus asking us to act: each pair shares its topic and most of its words.
PAIRS = [
    ("can I return an item I bought on sale?", "can I return the boots from order #W1234567?"),
    ("can I return an item I bought on sale?", "I'd like to return these boots"),
    ("how do I reset my password", "reset my password please, my email is x@y.com"),
    ("how long does delivery take", "where is my order"),
    ("return policy?", "refund??"),
    ("whats the policy on returns", "I want to return my boots"),
    ("is there a fee to cancel", "cancel #W4821930"),
    (
        "can I change the shipping address after ordering?",
        "please change my delivery address to 12 Elm St",
    ),
    ("how long do refunds usually take", "where is my refund"),
    ("can you ship to Canada?", "please ship my order express instead"),
    ("do you price match", "the tent is cheaper now, refund me the difference for order #W5100234"),
    ("how do I reset my password?", "reset my password"),
]


@pytest.fixture(scope="module")
def model() -> RequestKindModel:
    return shipped_request_model()


@pytest.mark.parametrize(("information", "action"), PAIRS)
def test_pairs_go_the_right_way(model: RequestKindModel, information: str, action: str) -> None:
    p_information, p_action = model.action_probability([information, action])
    assert p_information < 0.5 < p_action
    assert model.asks([information, action]) == [INFORMATION, ACTION]


def test_held_out_hard_cases_are_unseen_and_mostly_right(model: RequestKindModel) -> None:
    texts, asks = read_request_rows(HARD_CASES)
    training, _ = read_request_rows()
    assert not {t.lower() for t in texts} & {t.lower() for t in training}
    assert len(texts) >= 80 and abs(asks.count(ACTION) - asks.count(INFORMATION)) <= 4
    predicted = model.asks(texts)
    wrong = [(t, a) for t, a, p in zip(texts, asks, predicted, strict=True) if a != p]
    assert len(wrong) / len(texts) <= 0.07, wrong


def test_cross_validated_accuracy_and_calibration_on_the_seed_set() -> None:
    texts, asks = read_request_rows()
    assert min(asks.count(ACTION), asks.count(INFORMATION)) >= 300
    out_of_fold = np.zeros(len(texts))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(texts, asks):
        fold = RequestKindModel.train([texts[i] for i in train], [asks[i] for i in train])
        out_of_fold[test] = fold.action_probability([texts[i] for i in test])
    correct = (out_of_fold >= 0.5) == (np.array(asks) == ACTION)
    assert correct.mean() > 0.93
    assert expected_calibration_error(np.maximum(out_of_fold, 1 - out_of_fold), correct) < 0.05


def test_probability_is_honest_where_the_labels_are_noisy() -> None:
    """Platt scaling: when 80 % of the "please do it" rows are actions and 20 % of the "how does
    it work" rows are, the model says about 0.8 and 0.2, not 1 and 0."""
    rng = random.Random(7)
    words = ["kettle", "tent", "lamp", "mug", "boots", "pan", "jacket", "stove", "bag", "knife"]
    texts, asks = [], []
    for share, frame in [(0.8, "please do it for my {}"), (0.2, "how does it work for a {}")]:
        for index in range(200):
            texts.append(frame.format(rng.choice(words)))
            asks.append(ACTION if index < share * 200 else INFORMATION)
    noisy = RequestKindModel.train(texts, asks)
    high, low = noisy.action_probability(
        ["please do it for my tent", "how does it work for a tent"]
    )
    assert high == pytest.approx(0.8, abs=0.1)
    assert low == pytest.approx(0.2, abs=0.1)


def test_probabilities_are_in_range_and_move_the_sensible_way(model: RequestKindModel) -> None:
    assert model.action_probability([]) == []
    texts = ["", "?!", "x" * 10_000, "where is my order", "return policy?", "😀"]
    probabilities = model.action_probability(texts)
    assert len(probabilities) == len(texts)
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    # Naming one's own order and asking us to act push towards action, step by step.
    general, own, own_now = model.action_probability(
        [
            "can boots be returned?",
            "can I return my boots from order #W1234567?",
            "please return my boots from order #W1234567 now",
        ]
    )
    assert general < own < own_now
    # Which order number or email address it is makes no difference.
    first, second = model.action_probability(
        [
            "cancel #W4821930 please, email ann@example.com",
            "cancel W7001234 please, email b.o@x.org",
        ]
    )
    assert first == pytest.approx(second)


def test_normalise_replaces_identifiers() -> None:
    assert normalise("Cancel #W4821930, mail Ann.Lee@example.co.uk, 12 Elm St") == (
        "cancel  ordernumber , mail  emailaddress , 0 elm st"
    )


def test_shipped_model_is_trained_once_per_process() -> None:
    assert shipped_request_model() is shipped_request_model()


def test_training_refuses_unusable_labels() -> None:
    with pytest.raises(ValueError, match="2 texts but 1 labels"):
        RequestKindModel.train(["a", "b"], [ACTION])
    with pytest.raises(ValueError, match="unknown asks \\['question'\\]"):
        RequestKindModel.train(["a", "b"], [ACTION, "question"])
    with pytest.raises(ValueError, match="at least two examples"):
        RequestKindModel.train(["a", "b", "c"], [ACTION, ACTION, INFORMATION])
    with pytest.raises(ValueError, match="unknown feature set 'bert'"):
        RequestKindModel.train(
            ["a", "b", "c", "d"], [ACTION] * 2 + [INFORMATION] * 2, features="bert"
        )


def _csv(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "requests.csv"
    path.write_text(body, encoding="utf-8")
    return path


def test_reads_a_good_file_with_quoted_commas_and_line_breaks(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        'text,asks\n"hi, where is my order",action\n"line one\nline two",information\n'
        "return policy?, information \n",
    )
    assert read_request_rows(path) == (
        ["hi, where is my order", "line one\nline two", "return policy?"],
        [ACTION, INFORMATION, INFORMATION],
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("text,label\nwhere is my order,action\n", "needs a header with the columns text and asks"),
        ("", "needs a header with the columns text and asks"),
        (
            "text,asks\nwhere is my order,action\nreturn policy?,question\n",
            ":3: asks is 'question'",
        ),
        ("text,asks\nwhere is my order,action\nreturn policy?\n", ":3: asks is ''"),
        ("text,asks\nwhere is my order,action\n  ,information\n", ":3: empty text"),
        (
            'text,asks\n"two\nlines",action\nhi, where is my order,action\n',
            ":4: more fields than the header has; put a text that contains a comma in double",
        ),
        ("text,asks\nwhere is my order,action\ncancel it,action\n", "needs rows of both"),
    ],
)
def test_bad_rows_name_the_line_and_the_reason(tmp_path: Path, body: str, message: str) -> None:
    path = _csv(tmp_path, body)
    with pytest.raises(DataError) as error:
        read_request_rows(path)
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_request_rows(tmp_path / "absent.csv")
