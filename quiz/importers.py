"""Parsers for question files: the original bank (JSON), MMLU CSV and the quiz CSV format.

Pure parsing, no Django: each ``parse_*`` returns ``ParsedQuestions`` (valid ``QuestionRow``s
and every ``RowProblem`` found, each naming where: CSV physical line with the header as line 1,
or the bank's ``questions[i]``). Callers decide what to do with problems; the command and the
admin write nothing when there is any. Storing rows is ``quiz.services.question_upsert_many``.

Formats
-------
``bank`` (``quiz/data/tradesite_bank.json``): one entry per concept with a ``ko`` and an ``en``
version sharing the choice order and the 0-based ``answer``; it yields two questions,
``<id>.ko`` and ``<id>.en``, twins sharing ``twin_key`` ``tradesite:<id>``. O/X entries may
omit choices (O first, X second). Each version needs a ``hint`` that does not give the answer
away (``rules.hint_problems``); ``terms`` lists the glossary slugs the entry teaches.

``mmlu`` (``../shared/data/quiz/mmlu_economics_business_quiz.csv``, see its SOURCE.md): columns
``id, source_subject, topic, level, split, question, choice_a..choice_d, answer (A-D)``.
Difficulty from ``level`` (high_school 1, college 2, professional 3); category from ``topic``.
MMLU has no explanations, so the explanation names the keyed answer and the subject. Rows that
list one choice twice keep it once (noted in ``ParsedQuestions.notes``).

``csv`` (the admin's own format): columns ``external_id, language, category, difficulty, kind,
text, choice_1..choice_5, answer, explanation`` and optional ``source`` (default ``csv``),
``attribution``, ``licence``, ``hint``. ``answer`` is a letter A-E (A = choice_1); O/X also takes O or X.
Outside the bank every question is its own twin (``twin_key`` ``<source>:<external_id>``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from quiz import rules

MMLU_SOURCE = "mmlu"
MMLU_ATTRIBUTION = (
    'MMLU, Hendrycks et al., "Measuring Massive Multitask Language Understanding" (ICLR 2021); '
    "github.com/hendrycks/test @ f112c7a; (c) 2020 Dan Hendrycks"
)
MMLU_LICENCE = "MIT"
MMLU_COLUMNS = (
    "id",
    "source_subject",
    "topic",
    "level",
    "split",
    "question",
    "choice_a",
    "choice_b",
    "choice_c",
    "choice_d",
    "answer",
)
MMLU_DIFFICULTY = {"high_school": 1, "college": 2, "professional": 3}
MMLU_CATEGORY = {
    "macroeconomics": "macroeconomics",
    "microeconomics": "microeconomics",
    "accounting": "accounting",
    "econometrics": "econometrics",
    "marketing": "business",
    "management": "business",
    "business_ethics": "business",
}

CSV_REQUIRED = ("external_id", "language", "category", "difficulty", "kind", "text", "answer", "explanation")
CSV_CHOICES = tuple(f"choice_{n}" for n in range(1, rules.MC_MAX_CHOICES + 1))
CSV_DEFAULT_SOURCE = "csv"

OX_CHOICES = {"ko": ["O", "X"], "en": ["O (true)", "X (false)"]}
LETTERS = "ABCDE"
MAX_LENGTHS = {"source": 30, "external_id": 100, "attribution": 300, "licence": 100}


@dataclass(frozen=True)
class QuestionRow:
    """The fields of one ``quiz.Question``, validated; ``(source, external_id)`` is its key."""

    source: str
    external_id: str
    text: str
    kind: str
    choices: tuple[str, ...]
    correct_choice: int
    explanation: str
    difficulty: int
    category: str
    language: str
    attribution: str = ""
    licence: str = ""
    hint: str = ""
    terms: tuple[str, ...] = ()
    twin_group: str = ""  # the bank entry id its language versions share; "" = its own twin

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.external_id)

    @property
    def twin_key(self) -> str:
        return rules.twin_key(source=self.source, external_id=self.external_id, group=self.twin_group)


@dataclass(frozen=True)
class RowProblem:
    where: str  # "line 7" or "questions[3] (krx-hours.ko)"
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}"


@dataclass
class ParsedQuestions:
    rows: list[QuestionRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # rows kept with a documented repair


def _check(row: QuestionRow, where: str) -> list[RowProblem]:
    problems = rules.question_problems(
        text=row.text,
        kind=row.kind,
        choices=list(row.choices),
        correct_choice=row.correct_choice,
        explanation=row.explanation,
        difficulty=row.difficulty,
        category=row.category,
        language=row.language,
    )
    hint = rules.hint_problems(
        hint=row.hint,
        kind=row.kind,
        choices=list(row.choices),
        correct_choice=row.correct_choice if isinstance(row.correct_choice, int) else -1,
        explanation=row.explanation,
    )
    if hint:
        problems["hint"] = " ".join(hint)
    for name, limit in MAX_LENGTHS.items():
        value = getattr(row, name)
        if not value and name in ("source", "external_id"):
            problems[name] = "Required."
        elif len(value) > limit:
            problems[name] = f"At most {limit} characters."
    return [RowProblem(where, name, message) for name, message in problems.items()]


def _add(parsed: ParsedQuestions, row: QuestionRow, where: str, seen: dict[tuple[str, str], str]) -> None:
    problems = _check(row, where)
    if row.key in seen:
        problems.append(RowProblem(where, "external_id", f"{row.external_id!r} already appears at {seen[row.key]}."))
    if problems:
        parsed.problems.extend(problems)
    else:
        seen[row.key] = where
        parsed.rows.append(row)


# --- the original bank ---------------------------------------------------------------------


def parse_bank(path: Path | str) -> ParsedQuestions:
    """The original bilingual bank (JSON, see the module doc) -> two rows per entry."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    parsed, seen = ParsedQuestions(), {}
    source = data["source"]
    for index, entry in enumerate(data["questions"]):
        for language in rules.LANGUAGES:
            external_id = f"{entry.get('id', '')}.{language}"
            where = f"questions[{index}] ({external_id})"
            version = entry.get(language)
            if not isinstance(version, dict):
                parsed.problems.append(RowProblem(where, language, "Missing this language's version."))
                continue
            kind = entry.get("kind", "")
            choices = version.get("choices") or (OX_CHOICES[language] if kind == rules.KIND_OX else [])
            row = QuestionRow(
                source=source,
                external_id=external_id,
                text=version.get("text", ""),
                kind=kind,
                choices=tuple(choices),
                correct_choice=entry.get("answer"),
                explanation=version.get("explanation", ""),
                difficulty=entry.get("difficulty"),
                category=entry.get("category", ""),
                language=language,
                attribution=data.get("attribution", ""),
                licence=data.get("licence", ""),
                hint=version.get("hint", ""),
                terms=tuple(entry.get("terms", ())),
                twin_group=entry.get("id", ""),
            )
            if not row.hint.strip():
                parsed.problems.append(RowProblem(where, "hint", "Every bank question needs a hint."))
                continue
            _add(parsed, row, where, seen)
    return parsed


# --- CSV files -------------------------------------------------------------------------------


def _records(lines: Iterable[str]):
    """Yield ``(line_number, header, values)`` per non-blank CSV record; the line is where the
    record starts (quoted fields may span lines); the header is line 1."""
    reader = csv.reader(lines)
    header, previous_end = None, 0
    for values in reader:
        start, previous_end = previous_end + 1, reader.line_num
        if not any(v.strip() for v in values):
            continue
        if header is None:
            header = [h.strip().lstrip("\ufeff") for h in values]
            yield start, header, None
            continue
        yield start, header, values


def _missing_columns(header: list[str], required: Iterable[str]) -> list[str]:
    return [c for c in required if c not in header]


def parse_mmlu_csv(lines: Iterable[str]) -> ParsedQuestions:
    """MMLU economics/business CSV (columns in ``MMLU_COLUMNS``) -> rows with source ``mmlu``,
    the MIT licence and the attribution kept."""
    parsed, seen = ParsedQuestions(), {}
    for line, header, values in _records(lines):
        if values is None:
            missing = _missing_columns(header, MMLU_COLUMNS)
            if missing:
                parsed.problems.append(
                    RowProblem(f"line {line}", "header", f"Missing column(s): {', '.join(missing)}.")
                )
                return parsed
            continue
        where = f"line {line}"
        if len(values) != len(header):
            parsed.problems.append(RowProblem(where, "row", f"Has {len(values)} fields; the header has {len(header)}."))
            continue
        record = dict(zip(header, values, strict=False))
        choices = tuple(record[f"choice_{c}"].strip() for c in "abcd")
        letter = record["answer"].strip().upper()
        level, topic = record["level"].strip(), record["topic"].strip()
        problems = []
        if letter not in "ABCD" or len(letter) != 1:
            problems.append(RowProblem(where, "answer", f"Must be A, B, C or D, not {record['answer']!r}."))
        if level not in MMLU_DIFFICULTY:
            problems.append(RowProblem(where, "level", f"Must be one of {', '.join(MMLU_DIFFICULTY)}, not {level!r}."))
        if topic not in MMLU_CATEGORY:
            problems.append(RowProblem(where, "topic", f"Must be one of {', '.join(MMLU_CATEGORY)}, not {topic!r}."))
        if problems:
            parsed.problems.extend(problems)
            continue
        index = "ABCD".index(letter)
        if len(set(choices)) != len(choices):
            # Two real rows list one choice twice (e.g. line 51: "Employee rights" as A and B).
            # Keep each text once and key the answer by its text, so picking either copy of
            # the right text could never be marked wrong.
            unique = tuple(dict.fromkeys(choices))
            index, choices = unique.index(choices[index]), unique
            parsed.notes.append(f"{where}: duplicate choices merged ({len(choices)} left)")
        letter = "ABCD"[index]
        subject = record["source_subject"].strip().replace("_", " ")
        explanation = (
            f"MMLU publishes no explanation for this question. The keyed answer is {letter}: {choices[index]} "
            f"(MMLU subject: {subject}; {record['split'].strip()} split)."
        )
        row = QuestionRow(
            source=MMLU_SOURCE,
            external_id=record["id"].strip(),
            text=record["question"].strip(),
            kind=rules.KIND_MULTIPLE_CHOICE,
            choices=choices,
            correct_choice=index,
            explanation=explanation,
            difficulty=MMLU_DIFFICULTY[level],
            category=MMLU_CATEGORY[topic],
            language="en",
            attribution=MMLU_ATTRIBUTION,
            licence=MMLU_LICENCE,
        )
        hint = f"This is a question of {subject} (MMLU). Recall that subject's definitions and rule out choices that contradict them."
        if not rules.hint_problems(
            hint=hint, kind=row.kind, choices=list(choices), correct_choice=index, explanation=explanation
        ):
            row = replace(row, hint=hint)
        _add(parsed, row, where, seen)
    if not parsed.rows and not parsed.problems:
        parsed.problems.append(RowProblem("line 1", "file", "No questions found."))
    return parsed


def parse_question_csv(lines: Iterable[str]) -> ParsedQuestions:
    """The quiz CSV format (see the module doc) -> rows."""
    parsed, seen = ParsedQuestions(), {}
    for line, header, values in _records(lines):
        if values is None:
            missing = _missing_columns(header, CSV_REQUIRED)
            if not any(c in header for c in CSV_CHOICES):
                missing.append("choice_1..choice_5")
            if missing:
                parsed.problems.append(
                    RowProblem(f"line {line}", "header", f"Missing column(s): {', '.join(missing)}.")
                )
                return parsed
            continue
        where = f"line {line}"
        if len(values) != len(header):
            parsed.problems.append(RowProblem(where, "row", f"Has {len(values)} fields; the header has {len(header)}."))
            continue
        record = {k: (v or "").strip() for k, v in zip(header, values, strict=False)}
        kind = record["kind"].lower()
        choices = tuple(record[c] for c in CSV_CHOICES if record.get(c))
        answer = record["answer"].upper()
        if kind == rules.KIND_OX and answer in ("O", "X"):
            answer = "A" if answer == "O" else "B"
        if len(answer) != 1 or answer not in LETTERS:
            parsed.problems.append(
                RowProblem(
                    where, "answer", f"Must be a letter A-E (or O/X for O/X questions), not {record['answer']!r}."
                )
            )
            continue
        difficulty = int(record["difficulty"]) if record["difficulty"].isdigit() else record["difficulty"]
        row = QuestionRow(
            source=record.get("source") or CSV_DEFAULT_SOURCE,
            external_id=record["external_id"],
            text=record["text"],
            kind=kind,
            choices=choices,
            correct_choice=LETTERS.index(answer),
            explanation=record["explanation"],
            difficulty=difficulty,
            category=record["category"].lower(),
            language=record["language"].lower(),
            attribution=record.get("attribution", ""),
            licence=record.get("licence", ""),
            hint=record.get("hint", ""),
        )
        _add(parsed, row, where, seen)
    if not parsed.rows and not parsed.problems:
        parsed.problems.append(RowProblem("line 1", "file", "No questions found."))
    return parsed


FORMATS = {"mmlu": parse_mmlu_csv, "csv": parse_question_csv}


def parse_csv_file(path: Path | str, *, format: str) -> ParsedQuestions:
    """Read a CSV file (UTF-8, a BOM is fine) in ``format`` (``mmlu`` or ``csv``)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return FORMATS[format](handle)
