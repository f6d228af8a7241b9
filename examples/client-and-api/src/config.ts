// The example's configuration: environment variables, else the .env file beside
// package.json (environment variables win). See README.md for every name.
import { readFileSync } from "node:fs";

export interface Config {
  /** The Paylent environment, e.g. http://examples-dev.localhost:4000 (ISSUER). */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Where Paylent sends the browser back after login (REDIRECT_URI). */
  redirectUri: string;
  /** Where Paylent sends the browser after logout; "" shows Paylent's own page. */
  postLogoutRedirectUri: string;
  /** The address both servers listen on (HOST, default 127.0.0.1). */
  host: string;
  clientPort: number;
  apiPort: number;
  /** How the app reaches the API (API_URL). */
  apiUrl: string;
  /** The audience the API accepts (API_AUDIENCE); "" means the issuer (see README.md). */
  apiAudience: string;
}

/** parseDotEnv reads KEY=value lines; # comments, blank lines and surrounding quotes are ignored. */
export function parseDotEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m || line.trimStart().startsWith("#")) continue;
    let value = m[2];
    const quoted = /^(["'])(.*)\1$/.exec(value);
    value = quoted ? quoted[2] : value.replace(/\s+#.*$/, "");
    out[m[1]] = value;
  }
  return out;
}

function readDotEnv(path: string): Record<string, string> {
  try {
    return parseDotEnv(readFileSync(path, "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw err;
  }
}

/** loadConfig reports every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, dotenvPath = ".env"): Config {
  const file = readDotEnv(dotenvPath);
  const get = (k: string, def = "") => (env[k] ?? file[k] ?? "").trim() || def;
  const problems: string[] = [];
  const port = (k: string, def: number) => {
    const n = Number(get(k, String(def)));
    if (!Number.isInteger(n) || n < 1 || n > 65535) problems.push(`${k} must be a port number`);
    return n;
  };
  const clientPort = port("PORT", 3000);
  const apiPort = port("API_PORT", 4100);
  const cfg: Config = {
    issuer: get("ISSUER", "http://examples-dev.localhost:4000").replace(/\/$/, ""),
    clientId: get("CLIENT_ID"),
    clientSecret: get("CLIENT_SECRET"),
    redirectUri: get("REDIRECT_URI", `http://localhost:${clientPort}/callback`),
    postLogoutRedirectUri: get("POST_LOGOUT_REDIRECT_URI"),
    host: get("HOST", "127.0.0.1"),
    clientPort,
    apiPort,
    apiUrl: get("API_URL", `http://localhost:${apiPort}`).replace(/\/$/, ""),
    apiAudience: get("API_AUDIENCE"),
  };
  if (!cfg.clientId || !cfg.clientSecret) {
    problems.push("CLIENT_ID and CLIENT_SECRET are required: register the app as README.md shows and put them in .env");
  }
  for (const [k, v] of [["ISSUER", cfg.issuer], ["REDIRECT_URI", cfg.redirectUri], ["API_URL", cfg.apiUrl]] as const) {
    if (!URL.canParse(v)) problems.push(`${k} is not a URL: ${v}`);
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));
  return cfg;
}
