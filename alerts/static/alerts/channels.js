/* The notification channels page (/notifications/channels/): list the user's channels, link
   Telegram (a one-time t.me link and its code), add an email address and verify its code.
   Plain JS, no build step, no inline code (CSP). The API URLs come from data- attributes on
   #ch-app, written by {% url %} in alerts/templates/alerts/channels.html:
     data-list-url     GET the channels, POST {kind: "email", address, language}
     data-telegram-url POST {language} -> {link, token, expires_at, channel}
     data-detail-url   one channel, for DELETE, with the id 0 to replace ("/.../0/")
     data-verify-url   POST {code} to verify an email channel, with the id 0 to replace
   Errors show the API's message (the field named) in the section's result line. */
(function () {
  "use strict";
  const app = document.getElementById("ch-app");
  if (!app) return;
  const urls = {
    list: app.dataset.listUrl,
    telegram: app.dataset.telegramUrl,
    detail: app.dataset.detailUrl,
    verify: app.dataset.verifyUrl,
  };
  const listNode = document.getElementById("ch-list");
  const tgForm = document.getElementById("ch-tg-form");
  const tgResult = document.getElementById("ch-tg-result");
  const emailForm = document.getElementById("ch-email-form");
  const verifyForm = document.getElementById("ch-verify-form");
  const emailResult = document.getElementById("ch-email-result");

  /** A URL template from {% url %} with the id 0 as its last path segment of that kind. */
  function withId(template, id) {
    const at = template.lastIndexOf("/0/");
    if (at < 0) throw new Error("bad URL template: " + template);
    return template.slice(0, at) + "/" + encodeURIComponent(id) + "/" + template.slice(at + 3);
  }

  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  /** An ISO time shown in Asia/Seoul with its zone: "2026. 6. 28. 17:15:00 KST". */
  function kst(iso) {
    if (!iso) return "";
    return new Date(iso).toLocaleString("ko-KR", { timeZone: "Asia/Seoul", hour12: false }) + " KST";
  }

  async function call(url, method, body) {
    const res = await fetch(url, {
      method: method || "GET",
      credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok) {
      const err = data && data.error;
      const fields = err && err.fields
        ? Object.entries(err.fields).map(([k, v]) => `${k}: ${[].concat(v).join(" ")}`).join("; ")
        : "";
      throw new Error((err && (fields || err.message)) || res.statusText || `HTTP ${res.status}`);
    }
    return data;
  }

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function showError(out, exc) {
    out.textContent = exc.message;
    out.className = "ch-error";
  }

  function openVerify(id) {
    verifyForm.hidden = false;
    verifyForm.elements.channel.value = id;
    verifyForm.elements.code.focus();
  }

  function channelItem(c) {
    const li = el("li");
    li.dataset.channel = c.id;
    li.dataset.kind = c.kind;
    let what;
    if (c.kind === "telegram") {
      what = c.chat_id
        ? `Telegram ${c.telegram_username ? "@" + c.telegram_username : c.chat_id}`
        : "Telegram (waiting for /start · 연결 대기)";
    } else {
      what = `Email ${c.address}`;
    }
    li.append(el("strong", what));
    if (c.disabled_at) li.append(el("span", `off · 꺼짐: ${c.disabled_reason} (${kst(c.disabled_at)})`, "ch-off"));
    else if (c.active) li.append(el("span", "active · 사용 중", "ch-ok"));
    else li.append(el("span", "not verified · 미인증", "muted"));
    if (c.kind === "email" && !c.verified) {
      const enter = el("button", "Enter code · 코드 입력");
      enter.type = "button";
      enter.addEventListener("click", () => openVerify(c.id));
      li.append(enter);
    }
    const remove = el("button", "Remove · 삭제");
    remove.type = "button";
    remove.addEventListener("click", async () => {
      try {
        await call(withId(urls.detail, c.id), "DELETE");
        await load();
      } catch (exc) {
        li.append(el("span", exc.message, "ch-error"));
      }
    });
    li.append(remove);
    return li;
  }

  async function load() {
    const data = await call(urls.list);
    const rows = Array.isArray(data) ? data : data.results;
    listNode.replaceChildren();
    if (!rows.length) {
      listNode.append(el("li", "No channel yet · 아직 채널이 없습니다", "muted"));
      return;
    }
    for (const c of rows) listNode.append(channelItem(c));
  }

  function reload() {
    load().catch((exc) => listNode.replaceChildren(el("li", exc.message, "ch-error")));
  }

  tgForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await call(urls.telegram, "POST", { language: tgForm.elements.language.value });
      tgResult.className = "ch-link";
      tgResult.replaceChildren(el("span", "Open · 열기: "));
      const a = el("a", r.link);
      a.href = r.link;
      a.target = "_blank";
      a.rel = "noopener";
      a.id = "ch-tg-link";
      const token = el("code", r.token);
      token.id = "ch-tg-token";
      tgResult.append(a, el("span", " (code · 코드 "), token, el("span", `, until · 까지 ${kst(r.expires_at)})`));
      reload();
    } catch (exc) {
      showError(tgResult, exc);
    }
  });

  emailForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const c = await call(urls.list, "POST", {
        kind: "email",
        address: emailForm.elements.address.value,
        language: emailForm.elements.language.value,
      });
      emailResult.textContent = "A code was sent · 인증 코드를 보냈습니다";
      emailResult.className = "";
      openVerify(c.id);
      reload();
    } catch (exc) {
      showError(emailResult, exc);
    }
  });

  verifyForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await call(withId(urls.verify, verifyForm.elements.channel.value), "POST", {
        code: verifyForm.elements.code.value,
      });
      verifyForm.hidden = true;
      verifyForm.reset();
      emailResult.textContent = "Verified · 인증되었습니다";
      emailResult.className = "ch-ok";
      reload();
    } catch (exc) {
      showError(emailResult, exc);
    }
  });

  reload();
})();
