// Passkeys in the browser: turns the IdP's JSON options into WebAuthn calls and the browser's
// credentials back into JSON. Written from WebAuthn Level 3 (§5.1 PublicKeyCredential, §5.1.8
// toJSON, §5.1.4.1 conditional mediation). The server does every check; this only converts.
//
// Usage (an ES module):
//   import * as passkeys from "/static/js/passkeys.js";
//   const json = await passkeys.register(optionsJson);            // navigator.credentials.create
//   const json = await passkeys.signIn(optionsJson);              // modal sign-in
//   const json = await passkeys.signIn(optionsJson, {conditional: true, signal}); // autofill
// The returned string is what the IdP's passkey_register / passkey_verify actions expect.

// --- base64url (RFC 4648 §5, no padding) ----------------------------------------------------

export function toBase64url(buffer) {
  const bytes = new Uint8Array(buffer instanceof ArrayBuffer ? buffer : buffer.buffer);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64url(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

// --- feature detection --------------------------------------------------------------------

export function supported() {
  return typeof window !== "undefined" && "PublicKeyCredential" in window
    && typeof navigator.credentials?.get === "function";
}

// Passkey autofill: the browser offers passkeys in fields marked autocomplete="... webauthn".
export async function conditionalMediationAvailable() {
  if (!supported()) return false;
  const check = window.PublicKeyCredential.isConditionalMediationAvailable;
  return typeof check === "function" ? Boolean(await check.call(window.PublicKeyCredential)) : false;
}

// --- options: JSON -> the binary dictionaries the API takes ---------------------------------

function descriptors(list) {
  return (list || []).map((d) => ({ ...d, id: fromBase64url(d.id) }));
}

export function creationOptions(json) {
  const options = typeof json === "string" ? JSON.parse(json) : json;
  if (typeof window.PublicKeyCredential?.parseCreationOptionsFromJSON === "function") {
    return window.PublicKeyCredential.parseCreationOptionsFromJSON(options);
  }
  return {
    ...options,
    challenge: fromBase64url(options.challenge),
    user: { ...options.user, id: fromBase64url(options.user.id) },
    excludeCredentials: descriptors(options.excludeCredentials),
  };
}

export function requestOptions(json) {
  const options = typeof json === "string" ? JSON.parse(json) : json;
  if (typeof window.PublicKeyCredential?.parseRequestOptionsFromJSON === "function") {
    return window.PublicKeyCredential.parseRequestOptionsFromJSON(options);
  }
  return {
    ...options,
    challenge: fromBase64url(options.challenge),
    allowCredentials: descriptors(options.allowCredentials),
  };
}

// --- credentials: the API's result -> JSON for the server ------------------------------------

export function credentialToJSON(credential) {
  if (typeof credential.toJSON === "function") return credential.toJSON();
  const r = credential.response;
  const json = {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment ?? null,
    clientExtensionResults: credential.getClientExtensionResults?.() ?? {},
    response: { clientDataJSON: toBase64url(r.clientDataJSON) },
  };
  if (r.attestationObject) {
    json.response.attestationObject = toBase64url(r.attestationObject);
    json.response.transports = r.getTransports?.() ?? [];
  } else {
    json.response.authenticatorData = toBase64url(r.authenticatorData);
    json.response.signature = toBase64url(r.signature);
    if (r.userHandle) json.response.userHandle = toBase64url(r.userHandle);
  }
  return json;
}

// --- the two ceremonies ----------------------------------------------------------------------

export async function register(optionsJson) {
  const credential = await navigator.credentials.create({ publicKey: creationOptions(optionsJson) });
  return JSON.stringify(credentialToJSON(credential));
}

// conditional: wait for the person to pick a passkey from autofill (no modal dialog); abort it
// with `signal` before starting a modal sign-in, since only one request may be pending.
export async function signIn(optionsJson, { conditional = false, signal } = {}) {
  const request = { publicKey: requestOptions(optionsJson) };
  if (signal) request.signal = signal;
  if (conditional) {
    if (!(await conditionalMediationAvailable())) {
      throw new DOMException("Passkey autofill is not available here", "NotSupportedError");
    }
    request.mediation = "conditional";
  }
  const credential = await navigator.credentials.get(request);
  return JSON.stringify(credentialToJSON(credential));
}

// When the IdP answers passkey_unknown, let the passkey provider hide that stale passkey
// (WebAuthn L3 Signal API); silently nothing where the browser lacks it.
export async function forgetUnknown(rpId, credentialId) {
  const signal = window.PublicKeyCredential?.signalUnknownCredential;
  if (typeof signal === "function") {
    try {
      await signal.call(window.PublicKeyCredential, { rpId, credentialId });
    } catch (_error) {
      // A hint to the provider only; failing it changes nothing for the person.
    }
  }
}
