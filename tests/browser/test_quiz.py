"""The quiz in a real browser: a right answer pays, a wrong one shows the hint, giving up shows the answer."""

import sqlite3


def test_a_right_answer_pays_and_a_wrong_one_shows_the_hint_then_give_up_shows_the_answer(logged_in_site):
    site = logged_in_site
    site.open("/quiz/")
    site.wait_for(lambda: "Accuracy" in site.text("#quiz-stats"), "the quiz stats")

    # a right answer
    text, correct, choices = _next_question(site)
    site.shot("quiz", scroll_to="#quiz-text")
    site.click(f"#quiz-choices li:nth-child({correct + 1}) button")
    result = site.wait_for(lambda: site.text("#quiz-result"), "the result of the right answer")
    assert result.startswith("Right! +"), result
    assert "right" in site.find("#quiz-result").get_attribute("class").split()
    assert site.find("#quiz-give-up").is_displayed() is False
    assert all(not b.is_enabled() for b in site.find_all("#quiz-choices button"))  # answered: choices locked
    assert _marks(site) == {correct: "right"}  # the chosen, right choice marked right, in words too
    assert "✓ right" in site.text(f"#quiz-choices li:nth-child({correct + 1}) button")
    site.wait_for(lambda: "(1/1)" in site.text("#quiz-stats"), "the stats to count one right answer")
    site.shot("quiz-right", scroll_to="#quiz-result")

    # a wrong answer
    text2, correct2, choices2 = _next_question(site, not_text=text)
    wrong = next(i for i in range(choices2) if i != correct2)
    site.click(f"#quiz-choices li:nth-child({wrong + 1}) button")
    result = site.wait_for(lambda: site.text("#quiz-result"), "the result of the wrong answer")
    assert result.startswith("Not quite. Hint:"), result
    assert "wrong" in site.find("#quiz-result").get_attribute("class").split()
    site.wait_for(lambda: "(1/2)" in site.text("#quiz-stats"), "the stats to count the wrong answer")
    assert _marks(site) == {wrong: "wrong"}  # the right one is not given away before "give up"
    assert "✗ your answer" in site.text(f"#quiz-choices li:nth-child({wrong + 1}) button")
    site.shot("quiz-wrong", scroll_to="#quiz-choices")

    site.click("#quiz-give-up")
    site.wait_for(lambda: site.text("#quiz-result").startswith("Answer: " + "ABCDE"[correct2]), "the answer shown")
    assert not site.find("#quiz-give-up").is_displayed()
    assert _marks(site) == {wrong: "wrong", correct2: "right"}
    assert "✓ right" in site.text(f"#quiz-choices li:nth-child({correct2 + 1}) button")


def _marks(site) -> dict[int, str]:
    """The choices marked after an answer: {index: "right" | "wrong"} from their class and badge."""
    marks = site.js(
        """
        return Array.from(document.querySelectorAll('#quiz-choices button')).map((b) => {
          const badge = b.querySelector('.quiz-mark');
          const kinds = ['right', 'wrong'].filter((k) => b.classList.contains(k));
          return [kinds.join(' '), badge ? badge.className : ''];
        });
        """
    )
    found = {}
    for index, (kinds, badge) in enumerate(marks):
        if kinds or badge:
            assert badge == f"quiz-mark quiz-mark-{kinds}", (index, kinds, badge)
            found[index] = kinds
    return found


def _next_question(site, not_text: str | None = None) -> tuple[str, int, int]:
    """Ask for the next question; returns its text, its right choice (from the server's database)
    and how many choices the page shows."""
    site.click("#quiz-filters button[type=submit]")
    text = site.wait_for(
        lambda: (t := site.text("#quiz-text")) and t != not_text and site.find("#quiz-card").is_displayed() and t,
        "a question",
    )
    choices = len(site.find_all("#quiz-choices button"))
    with sqlite3.connect(f"file:{site.server.database}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT correct_choice FROM quiz_question WHERE text = ?", (text,)).fetchall()
    assert rows, f"question not in the database: {text!r}"
    assert len({r[0] for r in rows}) == 1
    assert 2 <= choices <= 5
    return text, rows[0][0], choices
