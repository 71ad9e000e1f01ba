"""The shipped bank, the MMLU importer on the real file, and CSV import (command and admin)."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from quiz.importers import parse_bank, parse_question_csv
from quiz.management.commands.load_quiz import BANK_PATH
from quiz.models import Attempt, Question
from tests.accounts.factories import UserFactory
from tests.quiz.factories import AttemptFactory, QuestionFactory

MMLU_PATH = Path(settings.MARKETS["SHARED_DATA_DIR"]) / "quiz" / "mmlu_economics_business_quiz.csv"
needs_mmlu = pytest.mark.skipif(not MMLU_PATH.exists(), reason=f"the MMLU file is not beside the repo ({MMLU_PATH})")

CSV_HEADER = "external_id,language,category,difficulty,kind,text,choice_1,choice_2,choice_3,choice_4,choice_5,answer,explanation\n"
GOOD_ROW = 'ops-1,ko,markets,1,ox,"KRX 정규장은 15:30에 끝난다.",O,X,,,,O,"맞습니다. 09:00~15:30."\n'


def _run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- the original bank --------------------------------------------------------------------


def test_the_shipped_bank_is_bilingual_with_at_least_60_questions_each_explained():
    parsed = parse_bank(BANK_PATH)

    assert parsed.problems == []
    rows = parsed.rows
    assert len(rows) >= 60
    by_language = {lang: [r for r in rows if r.language == lang] for lang in ("ko", "en")}
    assert len(by_language["ko"]) == len(by_language["en"]) == len(rows) // 2
    assert {r.category for r in rows} >= {
        "markets",
        "investing",
        "crypto",
        "macroeconomics",
        "microeconomics",
        "accounting",
    }
    assert {r.difficulty for r in rows} == {1, 2, 3}
    assert all(r.explanation.strip() for r in rows)
    assert all(len(r.choices) == 2 for r in rows if r.kind == "ox")
    # a Korean and an English version share the answer
    en = {r.external_id.removesuffix(".en"): r for r in by_language["en"]}
    assert all(en[r.external_id.removesuffix(".ko")].correct_choice == r.correct_choice for r in by_language["ko"])


def test_the_bank_does_not_reward_always_picking_one_position():
    rows = parse_bank(BANK_PATH).rows
    for kind in ("ox", "mc"):
        answers = [r.correct_choice for r in rows if r.kind == kind]
        assert max(answers.count(i) for i in set(answers)) / len(answers) < 0.6, kind


def test_the_bank_states_the_korean_market_rules_right():
    rows = {r.external_id: r for r in parse_bank(BANK_PATH).rows}

    session = rows["krx-regular-session.en"]
    assert "09:00 to 15:30" in session.text and session.correct_choice == 0
    limit = rows["krx-price-limit.en"]
    assert limit.choices[limit.correct_choice] == "±30%"
    assert rows["krx-sell-tax-side.en"].correct_choice == 1  # charged on sells, not buys
    t2 = rows["krx-settlement-t2.en"]
    assert t2.choices[t2.correct_choice] == "Wednesday (T+2)"
    vb = rows["vb-target-calc.en"]
    assert vb.choices[vb.correct_choice] == "99,000,000 KRW"  # 97,000,000 + 0.5 x (100,000,000 - 96,000,000)


@pytest.mark.django_db
def test_load_quiz_twice_changes_nothing_and_keeps_an_operators_deactivation():
    _run("load_quiz")
    count = Question.objects.filter(source="tradesite").count()
    Question.objects.filter(external_id="krx-price-limit.ko").update(active=False)

    output = _run("load_quiz")

    assert count == len(parse_bank(BANK_PATH).rows)
    assert "0 created, 0 updated" in output
    assert Question.objects.filter(source="tradesite").count() == count
    assert Question.objects.get(source="tradesite", external_id="krx-price-limit.ko").active is False


# --- MMLU ---------------------------------------------------------------------------------


@needs_mmlu
@pytest.mark.django_db
def test_import_quiz_mmlu_loads_the_real_file_once_with_attribution():
    first = _run("import_quiz", "--format", "mmlu", str(MMLU_PATH))
    second = _run("import_quiz", "--format", "mmlu", str(MMLU_PATH))

    assert "1656 created" in first and "0 created, 0 updated, 1656 unchanged" in second
    mmlu = Question.objects.filter(source="mmlu")
    assert mmlu.count() == 1656
    assert {
        c: mmlu.filter(category=c).count()
        for c in ("macroeconomics", "microeconomics", "accounting", "econometrics", "business")
    } == {
        "macroeconomics": 439,
        "microeconomics": 269,
        "accounting": 318,
        "econometrics": 131,
        "business": 499,
    }
    assert {d: mmlu.filter(difficulty=d).count() for d in (1, 2, 3)} == {1: 708, 2: 630, 3: 318}
    row = mmlu.get(external_id="mmlu-business_ethics-dev-001")  # line 3 of the file
    assert row.text.startswith("_______ is the direct attempt to formally or informally manage ethical issues")
    assert row.choices == [
        "Corporate social responsibility",
        "Business ethics management",
        "Sustainability",
        "Environmental management",
    ]
    assert row.correct_choice == 1 and row.difficulty == 2 and row.category == "business" and row.language == "en"
    assert row.licence == "MIT" and "Hendrycks" in row.attribution
    assert "The keyed answer is B: Business ethics management" in row.explanation
    # a real row listing "Employee rights" twice keeps it once; the answer follows its text
    merged = mmlu.get(external_id="mmlu-business_ethics-test-002")
    assert merged.choices == ["Employee rights", "Employer duties", "Employee duties"] and merged.correct_choice == 2


# --- CSV import: command and admin ----------------------------------------------------------


def test_csv_parser_reports_every_bad_row_by_line():
    text = (
        CSV_HEADER
        + GOOD_ROW
        + 'ops-2,en,markets,5,mc,"Which?",a,b,c,,,B,"Because."\n'  # line 3: difficulty
        + "\n"  # line 4: blank, skipped
        + 'ops-3,en,markets,1,mc,"Which?\nSecond line.",a,b,c,,,Z,"Because."\n'  # lines 5-6: answer
        + 'ops-1,en,markets,1,mc,"Dup?",a,b,c,,,A,"Because."\n'  # line 7: duplicate key
    )

    parsed = parse_question_csv(text.splitlines(keepends=True))

    assert [str(p) for p in parsed.problems] == [
        "line 3: difficulty: Must be 1, 2 or 3.",
        "line 5: answer: Must be a letter A-E (or O/X for O/X questions), not 'Z'.",
        "line 7: external_id: 'ops-1' already appears at line 2.",
    ]
    assert [r.external_id for r in parsed.rows] == ["ops-1"]


@pytest.mark.django_db
def test_import_quiz_csv_with_a_bad_row_names_its_line_and_writes_nothing(tmp_path):
    before = Question.objects.count()
    path = tmp_path / "questions.csv"
    path.write_text(CSV_HEADER + GOOD_ROW + 'ops-2,en,astrology,1,mc,"Which?",a,b,c,,,A,"Because."\n', encoding="utf-8")

    with pytest.raises(CommandError, match="line 3: category"):
        call_command("import_quiz", "--format", "csv", str(path))

    assert Question.objects.count() == before


@pytest.mark.django_db
def test_admin_csv_import_reports_bad_rows_by_line_and_imports_nothing(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    before = Question.objects.count()
    bad = CSV_HEADER + GOOD_ROW + 'ops-2,en,markets,1,mc,"Which?",a,b,,,,A,"Because."\n'

    response = admin_client.post(
        "/admin/quiz/question/import-csv/", {"format": "csv", "file": SimpleUploadedFile("q.csv", bad.encode())}
    )

    assert response.status_code == 200
    assert "line 3: choices: A multiple-choice question has 3 to 5 choices." in response.content.decode()
    assert Question.objects.count() == before


@pytest.mark.django_db
def test_admin_csv_import_of_good_rows_creates_them(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("q.csv", ("\ufeff" + CSV_HEADER + GOOD_ROW).encode())

    response = admin_client.post("/admin/quiz/question/import-csv/", {"format": "csv", "file": upload})

    assert response.status_code == 302
    question = Question.objects.get(source="csv", external_id="ops-1")
    assert (question.kind, question.choices, question.correct_choice, question.language) == ("ox", ["O", "X"], 0, "ko")


@pytest.mark.django_db
def test_admin_lists_questions_with_their_accuracy_and_keeps_attempts_read_only(admin_client):
    question = QuestionFactory(text="Accuracy probe question")
    user = UserFactory()
    for status, choice in [("correct", 1), ("wrong", 0)]:
        AttemptFactory(user=user, question=question, status=status, choice=choice, answered_at=question.created_at)

    listing = admin_client.get("/admin/quiz/question/", {"q": "Accuracy probe"})
    change = admin_client.get(f"/admin/quiz/question/{question.pk}/change/")
    attempt = Attempt.objects.filter(question=question).first()

    assert listing.status_code == 200 and "50% (1/2)" in listing.content.decode()
    QuestionFactory()  # never answered: sorting by accuracy must not divide by zero
    assert admin_client.get("/admin/quiz/question/", {"o": "-9"}).status_code == 200  # column 9: accuracy
    assert change.status_code == 200 and 'value="A market order"' in change.content.decode()
    assert admin_client.get("/admin/quiz/attempt/add/").status_code == 403
    assert admin_client.post(f"/admin/quiz/attempt/{attempt.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Attempt.objects.filter(question=question).count() == 2


@pytest.mark.django_db
def test_admin_question_form_rejects_a_third_choice_on_an_ox_question(admin_client):
    question = QuestionFactory(kind="ox", choices=["O", "X"], correct_choice=0)
    data = {
        "text": question.text,
        "kind": "ox",
        "choice_1": "O",
        "choice_2": "X",
        "choice_3": "Maybe",
        "choice_4": "",
        "choice_5": "",
        "correct_choice": 0,
        "explanation": question.explanation,
        "difficulty": 1,
        "category": "markets",
        "language": "en",
        "active": "on",
        "source": question.source,
        "external_id": question.external_id,
        "attribution": "",
        "licence": "",
    }

    response = admin_client.post(f"/admin/quiz/question/{question.pk}/change/", data)

    assert response.status_code == 200 and "An O/X question has exactly two choices" in response.content.decode()
    question.refresh_from_db()
    assert question.choices == ["O", "X"]


@pytest.mark.django_db
def test_admin_question_form_rejects_a_hint_that_contains_the_answer(admin_client):
    question = QuestionFactory()
    before = question.hint
    data = {
        "text": question.text,
        "kind": "mc",
        "choice_1": question.choices[0],
        "choice_2": question.choices[1],
        "choice_3": question.choices[2],
        "choice_4": question.choices[3],
        "choice_5": "",
        "correct_choice": 1,
        "hint": "Think of a MARKET order.",
        "explanation": question.explanation,
        "terms": '["market-order", "no-such-term"]',
        "difficulty": 1,
        "category": "markets",
        "language": "en",
        "active": "on",
        "source": question.source,
        "external_id": question.external_id,
        "attribution": "",
        "licence": "",
    }

    response = admin_client.post(f"/admin/quiz/question/{question.pk}/change/", data)

    html = response.content.decode()
    assert response.status_code == 200 and "The hint contains the answer" in html
    assert "Not in the glossary: no-such-term" in html
    question.refresh_from_db()
    assert question.hint == before and question.terms == ["market-order"]
