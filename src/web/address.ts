// The address a request came from, for per-address limits. Behind Caddy on the same host the
// peer is loopback and Caddy names the client in X-Forwarded-For (it replaces whatever the
// client sent there); a request straight from outside is its own peer, and its
// X-Forwarded-For is not believed.
//
// An IPv4 address is one subscriber (or one household behind NAT), but an IPv6 subscriber is
// handed a whole /64 (2^64 addresses, free to pick from): so IPv6 addresses are counted by
// their /64, and an IPv4 address written as IPv6 (::ffff:1.2.3.4) as the IPv4 address it is.
import type { Server } from "bun";

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/i;

export function clientAddress(request: Request, server: Server<unknown> | null | undefined): string {
  const peer = server?.requestIP(request)?.address ?? "unknown";
  if (!LOOPBACK.test(peer)) return limitKey(peer);
  const forwarded = request.headers.get("x-forwarded-for");
  return limitKey(forwarded ? (forwarded.split(",").at(-1)?.trim() ?? peer) : peer);
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * What per-address limits count by: an IPv4 address as it is; an IPv6 address by its /64
 * ("2001:db8:0:1::/64"); an IPv4-mapped IPv6 address as its IPv4 address. Anything that is
 * not an address (there should be nothing) is left as it is.
 */
export function limitKey(address: string): string {
  let a = address.trim();
  if (a.startsWith("[") && a.endsWith("]")) a = a.slice(1, -1);
  if (!a.includes(":")) return a;
  const zone = a.indexOf("%");
  if (zone >= 0) a = a.slice(0, zone);
  const groups = ipv6Groups(a.toLowerCase());
  if (!groups) return address;
  // ::ffff:a.b.c.d, IPv4 on a dual-stack socket: the same client as a.b.c.d.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join(".");
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, or null if it is not one. */
function ipv6Groups(a: string): number[] | null {
  // A dotted IPv4 tail (::ffff:1.2.3.4) is the last two groups, written another way.
  const lastColon = a.lastIndexOf(":");
  const v4 = IPV4.exec(a.slice(lastColon + 1));
  if (v4) {
    const b = v4.slice(1).map(Number);
    if (b.some((n) => n > 255)) return null;
    a = `${a.slice(0, lastColon + 1)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = a.split("::");
  if (halves.length > 2) return null;
  const words = (part: string) => (part === "" ? [] : part.split(":"));
  const head = words(halves[0]!);
  const rest = halves.length === 2 ? words(halves[1]!) : [];
  if ([...head, ...rest].some((w) => !/^[0-9a-f]{1,4}$/.test(w))) return null;
  const size = head.length + rest.length;
  if (halves.length === 1 ? size !== 8 : size > 7) return null;
  return [...head, ...new Array<string>(8 - size).fill("0"), ...rest].map((w) => parseInt(w, 16));
}
