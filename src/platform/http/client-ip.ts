import { isIP, isIPv6 } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TrustProxy } from '../../config.ts';

/**
 * TRUST_PROXY as Fastify's `trustProxy`. Fastify 5 takes a bare hop count but then trusts no proxy
 * at all (every client would be the load balancer, sharing one per-IP limit); TRUST_PROXY=N means
 * N proxies in front, so trust the N nearest addresses, as proxy-addr always has.
 */
export function trustProxyOption(trustProxy: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trustProxy !== 'number') return trustProxy;
  return (_address, hop) => hop < trustProxy;
}

/**
 * onRequest hook: removes the X-Forwarded-For entries that are not IP addresses before Fastify
 * (proxy-addr) reads the header. proxy-addr would make such an entry `request.ip` whenever it is
 * the first untrusted one (or the furthest, with TRUST_PROXY=true): a client could pick a new
 * "address" for every request and grow the limiter without bound. Without them, the next entry
 * counts, or the socket's address.
 */
export function dropInvalidForwardedFor(request: FastifyRequest, _reply: FastifyReply, done: () => void): void {
  const header = request.raw.headers['x-forwarded-for'];
  if (typeof header === 'string') {
    const entries = header.split(',').map((entry) => entry.trim());
    const addresses = entries.filter((entry) => isIP(entry) !== 0);
    if (addresses.length === 0) delete request.raw.headers['x-forwarded-for'];
    else if (addresses.length < entries.length) request.raw.headers['x-forwarded-for'] = addresses.join(', ');
  }
  done();
}

/** The keys a client's address is limited under. */
export interface ClientKeys {
  /** IPv4 as is; IPv6 by its /64, since one subscriber usually gets a whole /64. */
  address: string;
  /** IPv6 only: the /48 around the /64, which a site may split into many /64s. */
  network?: string;
}

export function clientAddressKeys(ip: string): ClientKeys {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return { address: mapped[1]! };
  if (!isIPv6(ip)) return { address: ip };
  const hextets = expandIPv6(ip);
  return { address: `${hextets.slice(0, 4).join(':')}::/64`, network: `${hextets.slice(0, 3).join(':')}::/48` };
}

/** The eight hextets of an IPv6 address, `::` expanded and zone id dropped. */
function expandIPv6(ip: string): string[] {
  const address = ip.split('%')[0]!;
  const [head = '', tail] = address.split('::') as [string, string | undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':')).map((group) => parseInt(group, 16).toString(16));
  const left = parse(head);
  if (tail === undefined) return left;
  const right = parse(tail);
  return [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
}
