// Node 18 has the Web Crypto API (which jose uses) only as node:crypto's webcrypto; Node 20
// and later have it as globalThis.crypto. Imported first by main.ts.
import { webcrypto } from "node:crypto";

if (!globalThis.crypto) {
  Object.defineProperty(globalThis, "crypto", { value: webcrypto, configurable: true });
}
