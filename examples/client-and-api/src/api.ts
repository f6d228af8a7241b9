// The Documents API: a resource server that accepts Paylent access tokens. It verifies them
// itself with jose (signature against Paylent's published keys, issuer, audience, expiry,
// typ at+jwt): no request to Paylent per call.
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from "jose";
import type { Config } from "./config.js";

export interface Document {
  id: string;
  title: string;
  body: string;
  createdBy: string;
}

type Env = { Variables: { token: JWTPayload & { scope?: string; client_id?: string } } };

export function documentsApi(cfg: Config) {
  // Paylent's signing keys, fetched once and cached for 5 minutes; a token signed with a key
  // the cache does not know yet makes jose fetch them again (at most every 30 s).
  const JWKS = createRemoteJWKSet(new URL(`${cfg.issuer}/.well-known/jwks.json`), { cacheMaxAge: 5 * 60 * 1000 });
  // With an API registered in Paylent, its identifier is the tokens' audience (API_AUDIENCE).
  // Without one, tokens for custom scopes that belong to no API carry the issuer as
  // audience: that is what the documented dashboard setup gives (see README.md).
  const audience = cfg.apiAudience || cfg.issuer;
  const realm = cfg.apiUrl;

  // challenge answers as RFC 6750 says: 401 without a usable token, 403 for a missing scope.
  function challenge(c: Context, status: 401 | 403, error?: string, description?: string, scope?: string) {
    const parts = [`realm="${realm}"`];
    if (error) parts.push(`error="${error}"`);
    if (description) parts.push(`error_description="${description.replace(/["\\]/g, "")}"`);
    if (scope) parts.push(`scope="${scope}"`);
    c.header("WWW-Authenticate", `Bearer ${parts.join(", ")}`);
    c.header("Cache-Control", "no-store");
    return c.json(error ? { error, error_description: description } : { error: "unauthorized" }, status);
  }

  function requireScope(scope: string): MiddlewareHandler<Env> {
    return async (c, next) => {
      const m = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(c.req.header("Authorization") ?? "");
      if (!m) return challenge(c, 401);
      let payload: Env["Variables"]["token"];
      try {
        ({ payload } = await jwtVerify(m[1], JWKS, { issuer: cfg.issuer, audience, typ: "at+jwt", algorithms: ["RS256"] }));
      } catch (err) {
        return challenge(c, 401, "invalid_token", refusal(err));
      }
      const granted = String(payload.scope ?? "").split(" ");
      if (!granted.includes(scope)) {
        return challenge(c, 403, "insufficient_scope", `this call needs the scope ${scope}`, scope);
      }
      c.set("token", payload);
      await next();
    };
  }

  // Documents live in memory, per user (or per client for tokens without a user).
  const store = new Map<string, Document[]>();
  const documentsOf = (owner: string) => {
    let docs = store.get(owner);
    if (!docs) {
      docs = [
        { id: "1", title: "Welcome to the Documents API", body: "Every new user gets two documents.", createdBy: "documents-api" },
        { id: "2", title: "How this works", body: "Your access token carries read:documents.", createdBy: "documents-api" },
      ];
      store.set(owner, docs);
    }
    return docs;
  };

  const app = new Hono<Env>();

  app.get("/api/profile", requireScope("profile"), (c) => {
    const t = c.get("token");
    return c.json({
      subject: t.sub,
      client_id: t.client_id,
      scope: t.scope,
      audience: t.aud,
      expires_at: t.exp ? new Date(t.exp * 1000).toISOString() : undefined,
    });
  });

  app.get("/api/documents", requireScope("read:documents"), (c) => {
    const t = c.get("token");
    return c.json({ documents: documentsOf(t.sub ?? String(t.client_id)) });
  });

  app.post("/api/documents", requireScope("write:documents"), async (c) => {
    const t = c.get("token");
    const body = await c.req.json<{ title?: string; body?: string }>().catch(() => ({}) as { title?: string; body?: string });
    if (!body.title) return c.json({ error: "invalid_request", error_description: "a title is required" }, 400);
    const docs = documentsOf(t.sub ?? String(t.client_id));
    const doc = { id: String(docs.length + 1), title: body.title, body: body.body ?? "", createdBy: String(t.client_id) };
    docs.push(doc);
    return c.json(doc, 201);
  });

  app.notFound((c) => c.json({ error: "not_found" }, 404));
  return { app, requireScope };
}

// refusal says why a token was refused, in words a developer can act on (never the token).
function refusal(err: unknown): string {
  if (err instanceof errors.JWTExpired) return "the access token has expired";
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "aud") return "the access token is not meant for this API (aud)";
    if (err.claim === "iss") return "the access token is from another issuer";
    if (err.claim === "typ") return "this is not an access token (typ)";
    return `the access token's ${err.claim} claim is not acceptable`;
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return "the access token's signature does not verify";
  if (err instanceof errors.JWKSNoMatchingKey) return "the access token is signed with an unknown key";
  if (err instanceof errors.JOSEError) return "the access token is malformed";
  return "the access token could not be verified";
}
