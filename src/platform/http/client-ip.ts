import { isIPv6 } from 'node:net';

/**
 * The key a client's address is limited under. One IPv6 subscriber usually gets a whole /64, so
 * counting single IPv6 addresses would let one client rotate through billions of them.
 */
export function clientAddressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!isIPv6(ip)) return ip;
  return `${expandIPv6(ip).slice(0, 4).join(':')}::/64`;
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
