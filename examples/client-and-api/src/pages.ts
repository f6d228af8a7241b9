// The app's pages. hono/html escapes every interpolated value.
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { Document } from "./api.js";

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface Who {
  name: string;
  subject: string;
}

const style = `
body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1d2330;line-height:1.5}
header{display:flex;justify-content:space-between;align-items:center;border-bottom:1px solid #dde;padding-bottom:.5rem}
a.button,button{display:inline-block;background:#3a5bd9;color:#fff;border:0;border-radius:6px;padding:.5rem 1rem;font-size:1rem;text-decoration:none;cursor:pointer}
button.secondary{background:#eef;color:#1d2330}
nav ul{list-style:none;padding:0}nav li{margin:.4rem 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{font-weight:600}dd{margin:0;word-break:break-all}
.problem{border-left:4px solid #c33;background:#fdf1f1;padding:.5rem 1rem}
.notice{border-left:4px solid #3a9b5b;background:#f0faf3;padding:.5rem 1rem}
code{background:#f2f3f7;padding:0 .2rem}form.inline{display:inline}
`;

export function layout(title: string, who: Who | undefined, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Third-Party Documents App</title><style>${style}</style></head>
<body>
<header><strong><a href="/">Third-Party Documents App</a></strong>
${who ? html`<form class="inline" method="post" action="/logout"><span id="signed-in">Signed in as ${who.name}</span>
<button class="secondary" id="logout" type="submit">Log out</button></form>` : ""}</header>
<main>${body}</main>
</body></html>`;
}

export function home(who: Who | undefined, notice?: string): Html {
  const note = notice ? html`<p class="notice" id="notice">${notice}</p>` : "";
  if (!who) {
    return layout("Home", undefined, html`<h1>Third-Party Documents App</h1>${note}
<p>This app keeps your documents at the Documents API. Sign in with your Paylent account to see them.</p>
<p><a class="button" id="login" href="/login">Log in with Paylent</a></p>`);
  }
  return layout("Home", who, html`<h1>Third-Party Documents App</h1>${note}
<p>Welcome, ${who.name}.</p>
<nav><ul>
<li><a id="profile-link" href="/profile">View your profile</a></li>
<li><a id="documents-link" href="/documents">View your documents</a></li>
<li><a id="new-document-link" href="/documents/new">Create a document</a> (needs <code>write:documents</code>, which this app does not ask for)</li>
</ul></nav>
<form method="post" action="/refresh"><button class="secondary" id="refresh" type="submit">Refresh the access token</button></form>`);
}

export interface ApiProfile {
  subject: string;
  client_id: string;
  scope: string;
  audience: string | string[];
  expires_at: string;
}

export function profile(who: Who, p: ApiProfile, idToken: Record<string, unknown>): Html {
  const aud = Array.isArray(p.audience) ? p.audience.join(" ") : p.audience;
  return layout("Your profile", who, html`<h1>Your profile</h1>
<h2>What the API learnt from the access token</h2>
<dl id="api-profile">
<dt>Subject</dt><dd id="api-subject">${p.subject}</dd>
<dt>Client</dt><dd id="api-client">${p.client_id}</dd>
<dt>Scopes</dt><dd id="api-scopes">${p.scope}</dd>
<dt>Audience</dt><dd id="api-audience">${aud}</dd>
<dt>Expires</dt><dd>${p.expires_at}</dd>
</dl>
<h2>What the ID token says</h2>
<dl id="id-token-profile">
<dt>Name</dt><dd>${String(idToken.name ?? "")}</dd>
<dt>Email</dt><dd>${String(idToken.email ?? "(not asked for)")}</dd>
</dl>
<p><a href="/">Back</a></p>`);
}

export function documents(who: Who, docs: Document[]): Html {
  return layout("Your documents", who, html`<h1>Your documents</h1>
<ul id="documents">${docs.map((d) => html`<li><strong>${d.title}</strong>: ${d.body}</li>`)}</ul>
<p><a href="/">Back</a></p>`);
}

export function newDocument(who: Who): Html {
  return layout("Create a document", who, html`<h1>Create a document</h1>
<form method="post" action="/documents">
<p><label>Title <input name="title" value="My first document" required></label></p>
<p><button id="create" type="submit">Create</button></p></form>`);
}

/** ApiRefusal is how the API refused a call: status, error code and its WWW-Authenticate challenge. */
export interface ApiRefusal {
  status: string;
  error: string;
  description: string;
  challenge: string;
}

export function apiRefused(who: Who, r: ApiRefusal): Html {
  return layout("Refused by the API", who, html`<h1>The Documents API refused</h1>
<div class="problem" id="api-error">
<dl><dt>Status</dt><dd id="api-status">${r.status}</dd>
<dt>Error</dt><dd id="api-error-code">${r.error}</dd>
<dt>Description</dt><dd id="api-error-description">${r.description}</dd>
<dt>WWW-Authenticate</dt><dd id="api-challenge">${r.challenge}</dd></dl></div>
<p>The API checks every access token itself; this app only shows its answer.</p>
<p><a href="/">Back</a></p>`);
}

/** problem is the page for every error: what happened, Paylent's error and its error_description. */
export function problem(who: Who | undefined, title: string, error: string, description: string): Html {
  return layout(title, who, html`<h1>${title}</h1>
<div class="problem" id="problem">
<dl><dt>Error</dt><dd id="error-code">${error}</dd>
<dt>Description</dt><dd id="error-description">${description}</dd></dl></div>
<p><a href="/">Back to the start</a>${who ? "" : html` · <a id="login" href="/login">Log in with Paylent</a>`}</p>`);
}
