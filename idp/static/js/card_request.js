// The card step of the interaction page: create a card request, show how to answer it (link,
// QR code, command), follow its progress and continue in this browser when the card has
// answered. The server does every check; this page only shows them.
//
// Usage (an ES module): cardStep(face, name, ui) where ``ui`` holds the page's elements and the
// localised texts (``ui.text``); ``name`` is the action (card, onboard, reissue, refresh_4info).
// termsFirst(face, ui, then) shows the terms before an onboarding and runs ``then`` once agreed.

const POLL_MS = 1500;

async function post(face, href, body) {
  const res = await fetch(href, {method: "POST",
    headers: {"Content-Type": "application/json", "Accept": "application/json",
              "X-CSRF-Token": face.csrf_token},
    body: JSON.stringify(body)});
  return {ok: res.ok, body: await res.json()};
}

function say(ui, text, kind) {
  ui.progress.textContent = text;
  ui.progress.className = "progress " + (kind || "");
}

function showRequest(ui, answer) {
  ui.link.href = answer.request_url;
  ui.link.textContent = answer.request_url;
  ui.qr.src = answer.qr_url;
  ui.commandFile.textContent = answer.commands.card_file;
  ui.commandReader.textContent = answer.commands.reader;
  ui.panel.hidden = false;
}

async function follow(face, ui) {
  const res = await fetch(`/interaction/${face.uid}/status`,
                          {headers: {"Accept": "application/json"}});
  const status = await res.json();
  if (!res.ok || status.status === "refused") {  // refused, or the interaction is over (404)
    const why = `${status.error_description} (${status.error})`;
    say(ui, status.status === "refused" ? `${ui.text.refused} ${why}` : why, "error");
    if (status.actions && status.actions.continue) {  // a refused signature (purpose sign):
      // cancelling now tells the relying party why the document was not signed
      const abort = document.getElementById("abort");
      if (abort) {
        abort.onclick = async () => {
          const next = await post(face, status.actions.continue.href, {});
          if (next.ok && next.body.redirect_to) { window.location = next.body.redirect_to; }
        };
      }
    }
    return;
  }
  if (status.status === "accepted" && status.redirect_to) {  // the answer finished the step
    say(ui, ui.text.accepted, "ok");
    window.location = status.redirect_to;
    return;
  }
  if (status.status === "accepted" && status.actions && status.actions.continue) {
    say(ui, ui.text.accepted, "ok");
    const next = await post(face, status.actions.continue.href, {});
    if (next.ok && next.body.redirect_to) { window.location = next.body.redirect_to; return; }
    say(ui, `${next.body.error_description} (${next.body.error})`, "error");
    return;
  }
  say(ui, ui.text.waiting, "waiting");
  setTimeout(() => follow(face, ui), POLL_MS);
}

export async function cardStep(face, name, ui, body = {}) {
  const answer = await post(face, face.actions[name].href, body);
  if (!answer.ok) {
    say(ui, `${answer.body.error_description} (${answer.body.error})`, "error");
    return;
  }
  if (answer.body.consent_text) {  // refresh_4info: the person reads and approves the text first
    ui.consentAsk.textContent = answer.body.message;
    ui.consentText.textContent = answer.body.consent_text;
    ui.consentPanel.hidden = false;
    ui.consentApprove.onclick = () => {
      ui.consentPanel.hidden = true;
      cardStep(face, name, ui, {approve: true});
    };
    ui.consentCancel.onclick = () => { ui.consentPanel.hidden = true; };
    return;
  }
  showRequest(ui, answer.body);
  say(ui, ui.text.waiting, "waiting");
  setTimeout(() => follow(face, ui), POLL_MS);
}

// Onboarding: show the terms and what the J-LIS link means; on "agree", record the agreement
// (action ``agree`` with the version shown) and go on to the card. The server refuses an
// onboarding without it.
export function termsFirst(face, ui, then) {
  ui.termsPanel.hidden = false;
  ui.termsAgree.onclick = async () => {
    const agree = face.actions.agree;
    const answer = await post(face, agree.href, {agree: true, version: agree.version});
    if (!answer.ok) {
      say(ui, `${answer.body.error_description} (${answer.body.error})`, "error");
      return;
    }
    ui.termsPanel.hidden = true;
    delete face.actions.agree;
    then();
  };
  ui.termsDecline.onclick = () => { ui.termsPanel.hidden = true; };
}

export function copyButtons(root) {
  for (const button of root.querySelectorAll("button[data-copy]")) {
    button.onclick = () => {
      navigator.clipboard.writeText(document.getElementById(button.dataset.copy).textContent);
    };
  }
}
