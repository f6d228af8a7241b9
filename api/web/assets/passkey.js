// Passkeys for Paylent's pages (served as /assets/passkey.js; the pages allow no inline
// script). The login page signs in with a passkey (a button, and the browser's autofill on
// the email field); the security page adds one, and so does the page right after sign-up. The server speaks JSON and keeps each
// ceremony's challenge in a cookie bound to this browser.
"use strict";
(() => {
  const b64u = {
    decode: (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(s.length / 4) * 4, "=")), (c) => c.charCodeAt(0)).buffer,
    encode: (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
  };
  const csrf = () => (document.querySelector("input[name=_csrf]") || {}).value || "";
  const flow = () => (document.querySelector("input[name=flow]") || {}).value || "";
  const status = (msg) => {
    const el = document.getElementById("passkey-status");
    if (el) el.textContent = msg;
  };
  async function post(path, body) {
    const resp = await fetch(path, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() }, body: JSON.stringify(body || {}) });
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      const err = new Error(data.error || "the request failed");
      err.name = "PaylentError";
      throw err;
    }
    return data;
  }
  function creationOptions(o) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) return PublicKeyCredential.parseCreationOptionsFromJSON(o);
    o.challenge = b64u.decode(o.challenge);
    o.user.id = b64u.decode(o.user.id);
    (o.excludeCredentials || []).forEach((c) => { c.id = b64u.decode(c.id); });
    return o;
  }
  function requestOptions(o) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) return PublicKeyCredential.parseRequestOptionsFromJSON(o);
    o.challenge = b64u.decode(o.challenge);
    (o.allowCredentials || []).forEach((c) => { c.id = b64u.decode(c.id); });
    return o;
  }
  function toJSON(cred) {
    if (cred.toJSON) return cred.toJSON();
    const r = cred.response, out = { id: cred.id, rawId: b64u.encode(cred.rawId), type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults(), authenticatorAttachment: cred.authenticatorAttachment, response: {
        clientDataJSON: b64u.encode(r.clientDataJSON) } };
    if (r.attestationObject) {
      out.response.attestationObject = b64u.encode(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = b64u.encode(r.authenticatorData);
      out.response.signature = b64u.encode(r.signature);
      if (r.userHandle) out.response.userHandle = b64u.encode(r.userHandle);
    }
    return out;
  }
  // continueSignIn goes on after a passkey sign-in: back to the application, or to the
  // security page when the sign-in was for the environment itself.
  function continueSignIn() {
    if (!flow()) { location.assign("/account/security"); return; }
    const form = document.createElement("form");
    form.method = "post";
    form.action = "/login/continue";
    for (const [name, value] of [["_csrf", csrf()], ["flow", flow()]]) {
      const input = document.createElement("input");
      input.type = "hidden"; input.name = name; input.value = value;
      form.appendChild(input);
    }
    document.body.appendChild(form);
    form.submit();
  }
  let conditional = null;
  async function signIn(mediation) {
    const begun = await post("/login/passkey/begin");
    const opts = { publicKey: requestOptions(begun.publicKey) };
    if (mediation) {
      conditional = new AbortController();
      opts.mediation = mediation;
      opts.signal = conditional.signal;
    }
    const cred = await navigator.credentials.get(opts);
    await post("/login/passkey/finish", { credential: toJSON(cred) });
    continueSignIn();
  }
  // register adds a passkey; then the security page shows it, or (right after sign-up,
  // data-then="continue") the sign-in goes on to the application.
  async function register(then) {
    const begun = await post("/account/passkeys/begin");
    const cred = await navigator.credentials.create({ publicKey: creationOptions(begun.publicKey) });
    const name = (document.getElementById("passkey-name") || {}).value || "Passkey";
    await post("/account/passkeys/finish", { name, credential: toJSON(cred) });
    if (then === "continue") continueSignIn();
    else location.assign("/account/security");
  }
  const fail = (err) => { if (err && err.name !== "AbortError") status("That did not work: " + err.message); };
  document.addEventListener("DOMContentLoaded", () => {
    if (!window.PublicKeyCredential) return;
    const signInButton = document.getElementById("passkey-signin");
    if (signInButton) {
      signInButton.hidden = false;
      signInButton.addEventListener("click", () => {
        if (conditional) conditional.abort();
        status("Waiting for your passkey…");
        signIn(null).catch(fail);
      });
      // Autofill: the browser offers passkeys in the email field. Only Paylent's refusal
      // of a chosen passkey is shown; a request the browser ends by itself is not news.
      if (PublicKeyCredential.isConditionalMediationAvailable) {
        PublicKeyCredential.isConditionalMediationAvailable().then((ok) => {
          if (ok) signIn("conditional").catch((err) => { if (err.name === "PaylentError") fail(err); });
        });
      }
    }
    const addButton = document.getElementById("passkey-add");
    if (addButton) {
      addButton.hidden = false;
      addButton.addEventListener("click", () => { status("Follow your browser's prompt…"); register(addButton.dataset.then).catch(fail); });
    }
  });
})();
