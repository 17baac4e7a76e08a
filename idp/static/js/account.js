// The account page (templates/account/account.html), thin over its JSON face: POST JSON with the
// session's CSRF token, then reload. A file, not an inline script, so that the page's
// Content-Security-Policy allows scripts from this origin only (idp/web/headers.py); the token
// and the localised prompt come from the page's JSON data block (never executed).
const page = JSON.parse(document.getElementById("account-page").textContent);
const csrf = page.csrf_token;

async function post(href, body, token) {
  const res = await fetch(href, {method: "POST", headers: {"Content-Type": "application/json",
    "X-CSRF-Token": token || csrf}, body: JSON.stringify(body)});
  const out = await res.json();
  if (res.ok) { window.location.reload(); }
  else { document.getElementById("message").textContent = out.error_description; }
}
for (const row of document.querySelectorAll("#passkeys tr[data-id]")) {
  const base = "/account/passkeys/" + encodeURIComponent(row.dataset.id);
  row.querySelector(".rename").onclick = () => {
    const name = window.prompt(page.rename_prompt, row.querySelector(".name").textContent);
    if (name) post(base + "/rename", {name});
  };
  row.querySelector(".remove").onclick = () => post(base + "/remove", {});
}
for (const item of document.querySelectorAll("#consents li")) {
  item.querySelector(".revoke").onclick = async () => {
    // /account/consents hands out its own token, bound to this session.
    const listing = await (await fetch("/account/consents", {headers: {Accept: "application/json"}})).json();
    post("/account/consents/" + encodeURIComponent(item.dataset.client) + "/revoke", {}, listing.csrf_token);
  };
}
