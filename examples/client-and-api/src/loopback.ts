// Browsers resolve localhost and *.localhost to this machine by themselves; Node asks the
// system resolver, which usually does not know examples-dev.localhost. So every fetch of
// this process dials such hosts on 127.0.0.1. The URL and its Host header stay as they are:
// Paylent tells its environments apart by the host, and the issuer is checked in tokens.
import dns from "node:dns";
import { Agent, setGlobalDispatcher } from "undici";

export function isLocalhost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, "");
  return h === "localhost" || h.endsWith(".localhost");
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

function lookup(hostname: string, options: dns.LookupOptions, callback: LookupCallback): void {
  if (!isLocalhost(hostname)) {
    dns.lookup(hostname, options, callback as never);
    return;
  }
  if (options.all) callback(null, [{ address: "127.0.0.1", family: 4 }]);
  else callback(null, "127.0.0.1", 4);
}

/** dialLocalhostAsLoopback makes the global fetch (and jose's key fetches) dial *.localhost on 127.0.0.1. */
export function dialLocalhostAsLoopback(): void {
  setGlobalDispatcher(new Agent({ connect: { lookup: lookup as never } }));
}
