// The administrators' pages: sign-in and enrolment with a passkey, and every change through the
// admin JSON API (/admin/api, with the session's CSRF token). A high-risk action answered
// "confirmation_required" asks for the passkey again, then is sent once more.
import * as passkeys from "/static/js/passkeys.js";

const lang = document.documentElement.lang || "ja";
const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
const message = (text, kind = "info") => {
  const element = document.getElementById("message");
  if (element) { element.textContent = text; element.dataset.kind = kind; }
};

async function api(method, url, body) {
  const separator = url.includes("?") ? "&" : "?";
  const response = await fetch(`${url}${separator}lang=${lang}`, {
    method,
    headers: { "Content-Type": "application/json", Accept: "application/json",
               "X-CSRF-Token": csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const json = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, json };
}

async function assertion(optionsUrl) {
  const started = await api("POST", optionsUrl, {});
  if (!started.ok) return started;
  const credential = await passkeys.signIn(JSON.stringify(started.json.options));
  return { ok: true, handle: started.json.handle, credential: JSON.parse(credential) };
}

async function confirmWithPasskey() {
  const answer = await assertion("/admin/api/session/confirm/options");
  if (!answer.ok) return answer;
  return api("POST", "/admin/api/session/confirm",
             { handle: answer.handle, credential: answer.credential });
}

async function withConfirmation(send) {
  let answer = await send();
  if (answer.status === 403 && answer.json.error === "confirmation_required") {
    const confirmed = await confirmWithPasskey();
    if (!confirmed.ok) return confirmed;
    answer = await send();
  }
  return answer;
}

// -- forms: fields -> JSON ----------------------------------------------------------------------
function formBody(form) {
  const body = {};
  for (const field of form.querySelectorAll("input[name], textarea[name], select[name]")) {
    const value = field.value.trim();
    if (field.hasAttribute("data-list")) {
      const items = value.split(/\s*\n\s*/).filter(Boolean);
      if (items.length || !field.hasAttribute("data-optional")) body[field.name] = items;
      else body[field.name] = null;
    } else if (field.hasAttribute("data-words")) {
      body[field.name] = value ? value.split(/\s+/) : null;
    } else if (field.hasAttribute("data-int")) {
      body[field.name] = value ? Number(value) : null;
    } else if (field.hasAttribute("data-value")) {
      // a policy value: JSON when it reads as JSON (numbers, true/false, lists), else the text
      try { body[field.name] = JSON.parse(value); } catch (_text) { body[field.name] = value; }
    } else if (field.hasAttribute("data-json")) {
      body[field.name] = value ? JSON.parse(value) : null;
    } else if (field.hasAttribute("data-optional")) {
      body[field.name] = value || null;
    } else {
      body[field.name] = value;
    }
  }
  return body;
}

function show(id, text) {
  const output = document.getElementById(id);
  output.querySelector(".value").textContent = text;
  output.hidden = false;
}

function showFourInfo(answer) {
  const list = document.getElementById("four-info-values");
  list.replaceChildren();
  const current = answer.four_info.current || {};
  for (const [key, value] of Object.entries(current)) {
    const term = document.createElement("dt");
    term.textContent = key;
    const detail = document.createElement("dd");
    detail.textContent = String(value);
    detail.dataset.field = key;
    list.append(term, detail);
  }
  list.hidden = false;
  document.getElementById("four-info-hidden").hidden = true;
}

const THEN = {
  reload: () => window.location.reload(),
  created: (answer) => {
    if (answer.client_secret) {
      show("secret", answer.client_secret);
      const link = document.createElement("a");
      link.href = `/admin/clients/${answer.client.client_id}`;
      link.id = "created-client";
      link.textContent = answer.client.client_id;
      document.getElementById("secret").append(link);
    } else {
      window.location.href = `/admin/clients/${answer.client.client_id}`;
    }
  },
  secret: (answer) => show("secret", answer.client_secret),
  four_info: showFourInfo,
  enroll_url: (answer) => show("enroll-url", answer.enroll_url),
};

for (const form of document.querySelectorAll("form[data-api]")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = form.querySelector(".error");
    if (error) error.textContent = "";
    let body;
    try {
      body = formBody(form);
    } catch (_parse) {
      if (error) error.textContent = "JSON?";
      return;
    }
    const answer = await withConfirmation(() => api(form.dataset.method, form.dataset.api, body));
    if (!answer.ok) {
      if (error) {
        error.textContent = answer.json.error_description || String(answer.status);
        error.dataset.code = answer.json.error || "";
      }
      return;
    }
    THEN[form.dataset.then]?.(answer.json);
  });
}

// -- sign-in, enrolment, sign-out ----------------------------------------------------------------
document.getElementById("sign-in")?.addEventListener("click", async () => {
  try {
    const answer = await assertion("/admin/api/session/options");
    if (!answer.ok) { message(answer.json.error_description, "error"); return; }
    const signedIn = await api("POST", "/admin/api/session",
                               { handle: answer.handle, credential: answer.credential });
    if (!signedIn.ok) { message(signedIn.json.error_description, "error"); return; }
    window.location.href = "/admin/";
  } catch (error) {
    message(String(error), "error");
  }
});

document.getElementById("enrol")?.addEventListener("click", async (event) => {
  const token = event.target.dataset.token;
  try {
    const started = await api("POST", `/admin/api/enrol/${token}/options`, {});
    if (!started.ok) { message(started.json.error_description, "error"); return; }
    const credential = await passkeys.register(JSON.stringify(started.json.options));
    const done = await api("POST", `/admin/api/enrol/${token}`,
                           { handle: started.json.handle, credential: JSON.parse(credential) });
    if (!done.ok) { message(done.json.error_description, "error"); return; }
    event.target.hidden = true;
    document.getElementById("enrolled").hidden = false;
  } catch (error) {
    message(String(error), "error");
  }
});

document.getElementById("sign-out")?.addEventListener("click", async () => {
  await api("POST", "/admin/api/session/logout", {});
  window.location.href = "/admin/login";
});

for (const cell of document.querySelectorAll(".time[data-epoch]")) {
  const epoch = Number(cell.dataset.epoch);
  if (epoch) cell.textContent = new Date(epoch * 1000).toLocaleString(lang);
}
