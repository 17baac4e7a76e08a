// The /device page (templates/device/enter.html): the person types the code their TV shows; a
// thin client of the page's JSON face, as the interaction page is.
const face = JSON.parse(document.getElementById("face").textContent);
const form = document.getElementById("user-code-form");
form.onsubmit = async (e) => {
  e.preventDefault();
  const res = await fetch(face.actions.user_code.href, {method: "POST",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": face.csrf_token},
    body: JSON.stringify({user_code: document.getElementById("user-code").value})});
  const out = await res.json();
  if (out.redirect_to) { window.location = out.redirect_to; }
  else { document.getElementById("message").textContent = out.error_description; }
};
document.documentElement.dataset.ready = "true";
