// The interaction page (templates/login/interaction.html): a thin client of the JSON face; every
// action POSTs JSON with the CSRF token. A file, not an inline script, so that the page's
// Content-Security-Policy allows scripts from this origin only (idp/web/headers.py). The face and
// the localised texts come from the page's JSON data blocks (never executed).
import * as passkeys from "./passkeys.js";
import * as card from "./card_request.js";

function data(id) {
  return JSON.parse(document.getElementById(id).textContent);
}

const face = data("face");

async function act(name, body) {
  const res = await fetch(face.actions[name].href, {method: "POST",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": face.csrf_token},
    body: JSON.stringify(body)});
  const out = await res.json();
  if (out.redirect_to) { window.location = out.redirect_to; }
  else if (out.options) { return out.options; }
  else { document.getElementById("message").textContent = out.error_description; }
  return null;
}
// Passkeys: conditional UI (autofill) when the browser has it, a modal sign-in on the button.
// The face brings the first options (challenge) with it, so autofill starts without a round
// trip; they serve until an answer is sent with them (the autofill request is aborted before a
// modal one, which may then reuse them). After that, each sign-in asks for new options.
let unspent = face.passkey ? face.passkey.options : null;
async function passkeySignIn(conditional, signal) {
  const options = unspent || await act("passkey_options", {});
  if (!options) return;
  try {
    const credential = await passkeys.signIn(options, {conditional, signal});
    unspent = null;
    await act("passkey_verify", {credential: JSON.parse(credential)});
  } catch (error) {
    // An autofill request the person never answered is not an error worth showing.
    const quiet = error.name === "AbortError" || (conditional && error.name === "NotAllowedError");
    if (!quiet) document.getElementById("message").textContent = error.message;
  }
}
let autofill = null;
if (face.actions.passkey_options) {
  if (await passkeys.conditionalMediationAvailable()) {
    autofill = new AbortController();
    passkeySignIn(true, autofill.signal);
  }
  document.getElementById("passkey-login").onclick = () => {
    if (autofill) autofill.abort();
    passkeySignIn(false);
  };
}
if (face.actions.passkey_register_options) {
  document.getElementById("passkey-register").onclick = async () => {
    const options = await act("passkey_register_options", {});
    if (!options) return;
    try {
      const credential = await passkeys.register(options);
      await act("passkey_register", {credential: JSON.parse(credential)});
    } catch (error) { document.getElementById("message").textContent = error.message; }
  };
  document.getElementById("skip").onclick = () => act("skip", {});
}
document.getElementById("abort").onclick = () => act("abort", {});
if (face.actions.approve) {  // a device's sign-in (RFC 8628): the person's explicit approval
  document.getElementById("device-approve").onclick = () => act("approve", {});
  document.getElementById("device-deny").onclick = () => act("deny", {});
}
const cardUi = {
  panel: document.getElementById("card-request"), link: document.getElementById("card-link"),
  qr: document.getElementById("card-qr"),
  commandFile: document.getElementById("card-command-file"),
  commandReader: document.getElementById("card-command-reader"),
  progress: document.getElementById("card-progress"),
  consentPanel: document.getElementById("consent-panel"),
  consentAsk: document.getElementById("consent-ask"),
  consentText: document.getElementById("consent-text"),
  consentApprove: document.getElementById("consent-approve"),
  consentCancel: document.getElementById("consent-cancel"),
  termsPanel: document.getElementById("terms-panel"),
  termsAgree: document.getElementById("terms-agree"),
  termsDecline: document.getElementById("terms-decline"),
  text: data("card-texts")};
for (const button of document.querySelectorAll("button[data-card]")) {
  const step = () => card.cardStep(face, button.dataset.card, cardUi);
  // Onboarding asks the card only once the terms and the J-LIS link are agreed to.
  button.onclick = () => (button.dataset.card === "onboard" && face.actions.agree)
    ? card.termsFirst(face, cardUi, step) : step();
}
card.copyButtons(document);
if (face.actions.skip && !face.actions.passkey_register_options) {
  document.getElementById("skip").onclick = () => act("skip", {});
}
document.documentElement.dataset.ready = "true";  // every button is wired from here on
const form = document.getElementById("consent");
if (form) {
  form.onsubmit = (e) => {
    e.preventDefault();
    const claims = [...form.querySelectorAll("input[name=claims]:checked")].map(i => i.value);
    act("consent", {approve: e.submitter.dataset.approve === "true", claims});
  };
}
