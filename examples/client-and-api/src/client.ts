// The Third-Party Documents App: a confidential OAuth client. It signs people in with the
// Authorization Code flow and PKCE (written out by hand below), keeps every token on the
// server (the browser holds only a session cookie), refreshes them, and logs out.
import { createHash, randomBytes } from "node:crypto";
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { csrf } from "hono/csrf";
import { secureHeaders } from "hono/secure-headers";
import { createRemoteJWKSet, jwtVerify } from "jose";
import type { Document } from "./api.js";
import type { Config } from "./config.js";
import * as pages from "./pages.js";

const SCOPE = "openid profile read:documents";
const COOKIE = "docs_session";

interface Tokens {
  accessToken: string;
  refreshToken?: string;
  idToken: string;
  expiresAt: number; // ms since the epoch
}

// A session lives on the server; the browser knows only its random id.
interface Session {
  login?: { state: string; nonce: string; codeVerifier: string }; // while signing in
  tokens?: Tokens;
  who?: pages.Who;
  idClaims?: Record<string, unknown>;
  refreshing?: Promise<Tokens>; // one refresh at a time: Paylent rotates refresh tokens
}

/** OAuthError is an error answer of Paylent (or of this app), shown with its description. */
export class OAuthError extends Error {
  constructor(readonly error: string, readonly description: string, readonly title = "Login did not complete") {
    super(`${error}: ${description}`);
  }
}

/** SignedOut means the session's grant ended at Paylent: the person must log in again. */
class SignedOut extends Error {}

type Env = { Variables: { sid: string; session: Session } };

export function documentsApp(cfg: Config) {
  const sessions = new Map<string, Session>();
  const JWKS = createRemoteJWKSet(new URL(`${cfg.issuer}/.well-known/jwks.json`), { cacheMaxAge: 5 * 60 * 1000 });
  const appOrigin = new URL(cfg.redirectUri).origin;
  const secure = appOrigin.startsWith("https:");

  const newSession = (c: Context<Env>, s: Session) => {
    const sid = randomBytes(32).toString("base64url");
    sessions.set(sid, s);
    setCookie(c, COOKIE, sid, { httpOnly: true, sameSite: "Lax", path: "/", secure });
    return sid;
  };
  const endSession = (c: Context<Env>) => {
    sessions.delete(c.get("sid"));
    deleteCookie(c, COOKIE, { path: "/" });
  };

  // POST to Paylent's token endpoint with the client's credentials in the body.
  async function tokenRequest(params: Record<string, string>): Promise<Tokens> {
    const res = await fetch(`${cfg.issuer}/oauth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: cfg.clientId, client_secret: cfg.clientSecret, ...params }),
    });
    const body = (await res.json().catch(() => ({}))) as Record<string, string | number>;
    if (!res.ok) {
      throw new OAuthError(String(body.error ?? `HTTP ${res.status}`), String(body.error_description ?? "the token endpoint refused"));
    }
    return {
      accessToken: String(body.access_token),
      refreshToken: body.refresh_token ? String(body.refresh_token) : undefined,
      idToken: String(body.id_token ?? ""),
      expiresAt: Date.now() + Number(body.expires_in ?? 0) * 1000,
    };
  }

  // accessToken returns a valid access token, refreshing it first when it has (nearly) expired.
  async function accessToken(s: Session, force = false): Promise<string> {
    const t = s.tokens;
    if (!t) throw new SignedOut();
    if (!force && t.expiresAt - 30_000 > Date.now()) return t.accessToken;
    if (!t.refreshToken) throw new SignedOut();
    s.refreshing ??= tokenRequest({ grant_type: "refresh_token", refresh_token: t.refreshToken })
      .then((fresh) => (s.tokens = { ...fresh, idToken: fresh.idToken || t.idToken }))
      .finally(() => (s.refreshing = undefined));
    try {
      return (await s.refreshing).accessToken;
    } catch (err) {
      if (err instanceof OAuthError && err.error === "invalid_grant") throw new SignedOut();
      throw err;
    }
  }

  // callApi calls the Documents API with the session's access token.
  async function callApi(s: Session, method: string, path: string, body?: unknown) {
    const res = await fetch(`${cfg.apiUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${await accessToken(s)}`, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    const refusal: pages.ApiRefusal | undefined = res.ok
      ? undefined
      : {
          status: `${res.status} ${res.statusText}`,
          error: String(json.error ?? ""),
          description: String(json.error_description ?? ""),
          challenge: res.headers.get("WWW-Authenticate") ?? "",
        };
    return { json, refusal };
  }

  const app = new Hono<Env>();
  app.use(secureHeaders({ contentSecurityPolicy: { defaultSrc: ["'self'"], styleSrc: ["'unsafe-inline'"] }, referrerPolicy: "same-origin" }));
  app.use(csrf({ origin: appOrigin })); // form POSTs from other sites are refused
  app.use(async (c, next) => {
    const sid = getCookie(c, COOKIE) ?? "";
    c.set("sid", sid);
    c.set("session", sessions.get(sid) ?? {});
    await next();
  });

  app.get("/", (c) => c.html(pages.home(c.get("session").who)));

  // Log in: a fresh state, nonce and PKCE verifier, kept in this browser's session.
  app.get("/login", (c) => {
    const state = randomBytes(16).toString("base64url");
    const nonce = randomBytes(16).toString("base64url");
    const codeVerifier = randomBytes(32).toString("base64url");
    const codeChallenge = createHash("sha256").update(codeVerifier).digest("base64url");
    newSession(c, { login: { state, nonce, codeVerifier } });

    const url = new URL(`${cfg.issuer}/oauth/authorize`);
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: cfg.clientId,
      redirect_uri: cfg.redirectUri,
      scope: SCOPE,
      code_challenge: codeChallenge,
      code_challenge_method: "S256",
      state,
      nonce,
    }).toString();
    return c.redirect(url.toString());
  });

  app.get("/callback", async (c) => {
    const q = c.req.query();
    const login = c.get("session").login;
    // state proves the answer belongs to the login this browser started (login CSRF).
    if (!login || q.state !== login.state) {
      throw new OAuthError("invalid_state", "This answer does not belong to a login started in this browser. Start again.");
    }
    if (q.iss && q.iss !== cfg.issuer) throw new OAuthError("invalid_issuer", `The answer comes from ${q.iss}, not ${cfg.issuer}.`);
    if (q.error) throw new OAuthError(q.error, q.error_description ?? "Paylent gave no description.");
    if (!q.code) throw new OAuthError("invalid_request", "The answer carries no code.");

    const tokens = await tokenRequest({
      grant_type: "authorization_code",
      code: q.code,
      code_verifier: login.codeVerifier,
      redirect_uri: cfg.redirectUri,
    });
    const { payload: id } = await jwtVerify(tokens.idToken, JWKS, { issuer: cfg.issuer, audience: cfg.clientId });
    if (id.nonce !== login.nonce) throw new OAuthError("invalid_nonce", "The ID token is not from this login.");

    sessions.delete(c.get("sid")); // a new session id once signed in: no session fixation
    newSession(c, { tokens, idClaims: id, who: { name: String(id.name ?? id.sub), subject: String(id.sub) } });
    return c.redirect("/");
  });

  // Pages that need a signed-in person.
  const signedIn: MiddlewareHandler<Env> = async (c, next) => {
    if (!c.get("session").who) return c.redirect("/");
    await next();
  };

  app.get("/profile", signedIn, async (c) => {
    const s = c.get("session");
    const { json, refusal } = await callApi(s, "GET", "/api/profile");
    if (refusal) return c.html(pages.apiRefused(s.who!, refusal), 502);
    return c.html(pages.profile(s.who!, json as unknown as pages.ApiProfile, s.idClaims ?? {}));
  });

  app.get("/documents", signedIn, async (c) => {
    const s = c.get("session");
    const { json, refusal } = await callApi(s, "GET", "/api/documents");
    if (refusal) return c.html(pages.apiRefused(s.who!, refusal), 502);
    return c.html(pages.documents(s.who!, json.documents as Document[]));
  });

  app.get("/documents/new", signedIn, (c) => c.html(pages.newDocument(c.get("session").who!)));

  app.post("/documents", signedIn, async (c) => {
    const s = c.get("session");
    const form = await c.req.parseBody();
    const { refusal } = await callApi(s, "POST", "/api/documents", { title: String(form.title ?? "") });
    if (refusal) return c.html(pages.apiRefused(s.who!, refusal), 502);
    return c.redirect("/documents");
  });

  app.post("/refresh", signedIn, async (c) => {
    const s = c.get("session");
    await accessToken(s, true);
    console.log("access token refreshed; the refresh token was rotated");
    return c.html(pages.home(s.who, "Access token refreshed; Paylent rotated the refresh token too."));
  });

  // Log out: revoke the refresh token (which ends the grant at Paylent, access tokens
  // included), forget the session, and end the Paylent session (RP-initiated logout).
  app.post("/logout", signedIn, async (c) => {
    const t = c.get("session").tokens;
    endSession(c);
    if (t?.refreshToken) {
      await fetch(`${cfg.issuer}/oauth/revoke`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: t.refreshToken, token_type_hint: "refresh_token", client_id: cfg.clientId, client_secret: cfg.clientSecret }),
      });
    }
    const url = new URL(`${cfg.issuer}/oauth/logout`);
    url.searchParams.set("id_token_hint", t?.idToken ?? "");
    if (cfg.postLogoutRedirectUri) url.searchParams.set("post_logout_redirect_uri", cfg.postLogoutRedirectUri);
    return c.redirect(url.toString());
  });

  app.notFound((c) => c.html(pages.problem(c.get("session").who, "Not found", "not_found", `There is no page at ${c.req.path}.`), 404));
  app.onError((err, c) => {
    const who = c.get("session")?.who;
    if (err instanceof SignedOut) {
      endSession(c);
      return c.html(pages.home(undefined, "Your sign-in at Paylent has ended (logged out or revoked). Log in again."), 401);
    }
    if (err instanceof OAuthError) return c.html(pages.problem(who, err.title, err.error, err.description), 400);
    console.error(err);
    const description = err instanceof TypeError && err.message === "fetch failed" ? "Paylent or the Documents API could not be reached." : err.message;
    return c.html(pages.problem(who, "Something went wrong", "server_error", description), 500);
  });

  return app;
}
