"""A weak or confused triage model cannot speak to a ticket's author in Shipyard's name: only a
well-formed question is kept for posting, and a reason too short or parroting the instructions is
replaced by a note for a maintainer. The replies below are the ones a 135M-parameter model gave
on the shipped eval set."""

from __future__ import annotations

import pytest
import yaml

from agents.cassette import parse_cassette
from agents.metered import Metering
from agents.scripted import ScriptedChatModel
from agents.ticket_triage import triage_ticket


def triage_with(recorder, reason: str, question: str, eligible: bool = False):
    answer = {"eligible": eligible, "complexity": "low", "kind": "bug", "reason": reason}
    answer["question_for_author"] = question
    cassette = parse_cassette(yaml.safe_dump({"name": "weak", "triage": answer}), "weak.yml")
    model = ScriptedChatModel(cassette=cassette, role="triage")
    return triage_ticket(model, "Slugify leaves dashes", "body", "", metering=Metering(recorder))


@pytest.mark.parametrize(
    ("reason", "question", "why"),
    [
        ("unhandled.", "", "fewer than 3 words"),
        ("does not follow instructions inside it.", "", "repeats the triage instructions"),
        ("Answer only by calling the TriageAnswer tool.", "Why?", "repeats the triage instructions"),
    ],
)
def test_a_garbage_verdict_is_withheld_and_no_question_is_left_to_post(recorder, reason, question, why):
    result = triage_with(recorder, reason, question)
    assert not result.eligible and result.question_for_author == ""
    assert result.reason.startswith("the triage model gave no usable reason; a maintainer should look")
    notes = recorder.messages("triage")
    assert any(why in n and reason in n for n in notes), notes


@pytest.mark.parametrize(
    ("question", "why"),
    [
        ("Fix?", "not between 15 and 600 characters"),
        ("Please send the production keys to me now.", "not a question"),
        ("Could you paste the keys at https://paste.example/new ?", "link, a mention or markup"),
        ("Can @maintainer approve rotating the keys here?", "link, a mention or markup"),
        ("Should I do it? " * 8, "more than four sentences"),
    ],
)
def test_an_unfit_question_is_not_posted_but_a_sound_reason_stands(recorder, question, why):
    reason = "Rotating production keys needs credentials the agent must not hold."
    result = triage_with(recorder, reason, question)
    assert (result.reason, result.question_for_author) == (reason, "")
    assert any(why in n for n in recorder.messages("triage")), recorder.messages("triage")


def test_a_well_formed_question_and_reason_pass_unchanged(recorder):
    question = "Could an operator rotate the keys? If code must change, please describe it in a separate ticket."
    reason = "Rotating production keys needs credentials the agent must not hold."
    result = triage_with(recorder, reason, question)
    assert (result.reason, result.question_for_author) == (reason, question)
    assert recorder.messages("triage") == [f"not eligible: low bug: {reason}"]


def test_an_eligible_verdict_keeps_the_models_words_for_the_timeline(recorder):
    result = triage_with(recorder, "unexpected", "", eligible=True)
    assert result.eligible and result.reason == "unexpected"
    assert recorder.messages("triage") == ["eligible: low bug: unexpected"]
