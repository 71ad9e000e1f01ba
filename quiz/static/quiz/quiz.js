(function () {
  "use strict";
  const api = "/api/v1/quiz/";
  const won = new Intl.NumberFormat("ko-KR");
  const el = (id) => document.getElementById(id);
  // the page's texts in its language (quiz/views.py _js_strings, as json_script)
  const T = JSON.parse((el("quiz-i18n") || { textContent: "{}" }).textContent || "{}");
  const t = (key, english) => T[key] || english;
  let attemptId = null;
  let lastAttemptId = null;
  let lastChoices = [];
  let lastChosen = null; // the choice answered on the question shown, if any

  function termLinks(terms) {
    const box = el("quiz-terms");
    box.replaceChildren();
    if (!terms || !terms.length) return;
    box.append(document.createTextNode(t("glossary", "Glossary:") + " "));
    terms.forEach((t, i) => {
      if (i) box.append(document.createTextNode(", "));
      const a = document.createElement("a");
      a.href = t.url;
      a.textContent = t.term_ko + " · " + t.term_en;
      box.append(a);
    });
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function call(path, options) {
    const response = await fetch(api + path, Object.assign({
      credentials: "same-origin",
      headers: { "Accept": "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    }, options || {}));
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const message = (body.error && body.error.message) || ("HTTP " + response.status);
      throw new Error(message);
    }
    return body;
  }

  function showError(message) {
    el("quiz-error").textContent = message || "";
    el("quiz-error").hidden = !message;
  }

  function stat(label, value) {
    const box = document.createElement("div");
    const small = document.createElement("span");
    small.className = "muted small";
    small.textContent = label;
    const strong = document.createElement("strong");
    strong.textContent = value;
    box.append(small, strong);
    return box;
  }

  async function loadStats() {
    try {
      const s = await call("stats/");
      const accuracy = s.accuracy === null ? "–" : Math.round(Number(s.accuracy) * 100) + "%";
      el("quiz-stats").replaceChildren(
        stat("Accuracy", accuracy + " (" + s.correct + "/" + s.answered + ")"),
        stat("Earned", won.format(Number(s.earned_total)) + " KRW"),
        stat("Today", won.format(Number(s.earned_today)) + (s.daily_cap === null ? "" : " / " + won.format(Number(s.daily_cap))) + " KRW"),
        stat("Streak", s.streak + " (best " + s.best_streak + ")"),
        stat("Days in a row", String(s.day_streak)),
      );
    } catch (error) {
      el("quiz-stats").textContent = error.message;
    }
  }

  async function next(event) {
    if (event) event.preventDefault();
    showError("");
    el("quiz-result").hidden = true;
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(el("quiz-filters"))) if (value) params.set(key, value);
    try {
      const served = await call("next/?" + params.toString());
      attemptId = served.attempt_id;
      lastAttemptId = served.attempt_id;
      const q = served.question;
      lastChoices = q.choices;
      lastChosen = null;
      el("quiz-hint").textContent = q.hint || "";
      el("quiz-hint-box").hidden = !q.hint;
      el("quiz-hint-box").open = false;
      termLinks(q.terms);
      el("quiz-give-up").hidden = false;
      el("quiz-meta").textContent = [q.category, t("difficulty", "difficulty") + " " + q.difficulty, q.language,
        t("pays_if_right", "pays %(amount)s KRW if right").replace("%(amount)s", won.format(Number(served.reward)))].join(" · ");
      el("quiz-text").textContent = q.text;
      const list = el("quiz-choices");
      list.replaceChildren();
      q.choices.forEach((text, index) => {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = String.fromCharCode(65 + index) + ". " + text;
        button.addEventListener("click", () => answer(index, button));
        item.append(button);
        list.append(item);
      });
      el("quiz-attribution").textContent = q.attribution ? "Source: " + q.attribution + (q.licence ? " (" + q.licence + ")" : "") : "";
      el("quiz-card").hidden = false;
    } catch (error) {
      el("quiz-card").hidden = true;
      showError(error.message);
    }
  }

  /** Mark a choice after the answer is known: "right" (the right choice) or "wrong" (the
   *  chosen, wrong one), with a word beside the colour so it does not rest on colour alone. */
  function mark(index, kind) {
    const button = el("quiz-choices").querySelectorAll("button")[index];
    if (!button || button.classList.contains(kind)) return;
    button.classList.add(kind);
    const badge = document.createElement("span");
    badge.className = "quiz-mark quiz-mark-" + kind;
    badge.textContent = kind === "right" ? " " + t("right_badge", "✓ right") : " " + t("your_answer", "✗ your answer");
    button.append(badge);
  }

  async function answer(index, button) {
    if (attemptId === null) return;
    const buttons = el("quiz-choices").querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    button.classList.add("chosen");
    try {
      const result = await call("attempts/" + attemptId + "/answer/", { method: "POST", body: JSON.stringify({ choice: index }) });
      attemptId = null;
      lastChosen = index;
      if (result.correct) mark(result.correct_choice !== undefined ? result.correct_choice : index, "right");
      else mark(index, "wrong"); // the right one shows with "give up" (a retry still teaches)
      const box = el("quiz-result");
      box.className = "quiz-result " + (result.correct ? "right" : "wrong");
      let text = result.correct ? t("right", "Right!") + " +" + won.format(Number(result.reward)) + " KRW" : t("not_quite", "Not quite. Hint:");
      if (result.no_reward_reason === "answered_before") text += " " + t("answered_before", "(answered before: no reward)");
      if (result.no_reward_reason === "daily_cap") text += " " + t("daily_cap", "(daily cap reached)");
      text += "\n\n" + (result.correct ? result.explanation : result.hint);
      if (!result.correct) text += "\n\n" + t("try_again", "(Try again with Next question, or give up to see the answer.)");
      el("quiz-give-up").hidden = result.correct;
      text += "\n\n" + t("cash", "Cash:") + " " + won.format(Number(result.cash)) + " KRW";
      box.textContent = text;
      box.hidden = false;
      loadStats();
    } catch (error) {
      buttons.forEach((b) => { b.disabled = false; });
      button.classList.remove("chosen");
      showError(error.message);
    }
  }

  async function giveUp() {
    if (lastAttemptId === null) return;
    showError("");
    try {
      const result = await call("attempts/" + lastAttemptId + "/give-up/", { method: "POST" });
      attemptId = null;
      el("quiz-choices").querySelectorAll("button").forEach((b) => { b.disabled = true; });
      mark(result.correct_choice, "right");
      if (lastChosen !== null && lastChosen !== result.correct_choice) mark(lastChosen, "wrong");
      const box = el("quiz-result");
      box.className = "quiz-result wrong";
      box.textContent = t("answer", "Answer:") + " " + String.fromCharCode(65 + result.correct_choice) + ". " +
        (lastChoices[result.correct_choice] || "") + "\n\n" + result.explanation;
      box.hidden = false;
      termLinks(result.terms);
      el("quiz-give-up").hidden = true;
      loadStats();
    } catch (error) {
      showError(error.message);
    }
  }

  el("quiz-give-up").addEventListener("click", giveUp);
  el("quiz-filters").addEventListener("submit", next);
  loadStats();
})();
