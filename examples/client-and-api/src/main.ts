// Starts both servers with one command (npm run dev): the Third-Party Documents App on
// http://localhost:3000 and the Documents API on http://localhost:4100.
import "./webcrypto.js";
import { serve } from "@hono/node-server";
import { documentsApi } from "./api.js";
import { documentsApp } from "./client.js";
import { loadConfig } from "./config.js";
import { dialLocalhostAsLoopback } from "./loopback.js";

let cfg;
try {
  cfg = loadConfig();
} catch (err) {
  console.error(`configuration:\n${(err as Error).message}`);
  process.exit(1);
}
dialLocalhostAsLoopback();

// Paylent must be running, and ISSUER must be its issuer exactly: tokens carry it.
try {
  const res = await fetch(`${cfg.issuer}/.well-known/openid-configuration`);
  const discovery = (await res.json()) as { issuer?: string };
  if (discovery.issuer !== cfg.issuer) throw new Error(`it says its issuer is ${discovery.issuer}`);
} catch (err) {
  const why = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? (err as Error).message;
  console.error(`Paylent is not answering as ${cfg.issuer} (${why}). Is it running (scripts/serve.sh), and is ISSUER right?`);
  process.exit(1);
}

const { app: api } = documentsApi(cfg);
serve({ fetch: api.fetch, port: cfg.apiPort, hostname: cfg.host }, () => {
  console.log(`Documents API is serving on ${cfg.apiUrl}`);
  console.log(
    cfg.apiAudience
      ? `  it accepts access tokens for the API ${cfg.apiAudience}`
      : `  API_AUDIENCE is unset: it accepts access tokens whose audience is the issuer (custom scopes without an API; see README.md)`,
  );
});
serve({ fetch: documentsApp(cfg).fetch, port: cfg.clientPort, hostname: cfg.host }, () => {
  console.log(`Third-Party Documents App is serving on ${new URL(cfg.redirectUri).origin}`);
});
