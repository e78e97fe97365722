import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { AppError } from './errors.js';

/** Address ranges an outbound call (a webhook, a notification) may reach only when the server allows it. */
export type OutboundRange = 'loopback' | 'private' | 'link-local';

const RANGES: Record<OutboundRange, [string, number, 'ipv4' | 'ipv6'][]> = {
  loopback: [
    ['127.0.0.0', 8, 'ipv4'],
    ['::1', 128, 'ipv6'],
  ],
  private: [
    ['10.0.0.0', 8, 'ipv4'],
    ['172.16.0.0', 12, 'ipv4'],
    ['192.168.0.0', 16, 'ipv4'],
    ['100.64.0.0', 10, 'ipv4'],
    ['fc00::', 7, 'ipv6'],
  ],
  'link-local': [
    ['169.254.0.0', 16, 'ipv4'],
    ['fe80::', 10, 'ipv6'],
  ],
};

/** Never reachable, whatever is allowed: "this network", multicast and reserved space. */
const NEVER: [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
];

function blockList(entries: readonly [string, number, 'ipv4' | 'ipv6'][]): BlockList {
  const list = new BlockList();
  for (const [address, prefix, family] of entries) list.addSubnet(address, prefix, family);
  return list;
}

const never = blockList(NEVER);
const byRange = Object.fromEntries(
  Object.entries(RANGES).map(([range, entries]) => [range, blockList(entries)]),
) as Record<OutboundRange, BlockList>;

/** An IPv4 address written as IPv6 (`::ffff:127.0.0.1`) is judged as the IPv4 address it is. */
function unmapped(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return { address: mapped[1], family: 'ipv4' };
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

/** The range an address falls in, `never` for one no setting allows, or null for a public one. */
export function rangeOf(raw: string): OutboundRange | 'never' | null {
  const { address, family } = unmapped(raw);
  if (never.check(address, family)) return 'never';
  for (const range of Object.keys(byRange) as OutboundRange[])
    if (byRange[range].check(address, family)) return range;
  return null;
}

/**
 * Checks that an http(s) URL names a host whose every address is public, or in a range the server
 * allows (`FLEETPLANE_OUTBOUND_ALLOW`); 422 on `field` otherwise. Checked when a URL is saved and
 * again before each call, since a name can be pointed elsewhere in between.
 */
export async function assertReachable(
  raw: string,
  allowed: readonly OutboundRange[],
  field = 'url',
): Promise<URL> {
  const refuse = (message: string) =>
    new AppError('unprocessable', `the URL cannot be called: ${message}`, { details: [{ field, message }] });
  const url = URL.canParse(raw) ? new URL(raw) : null;
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw refuse('not an http(s) URL');
  if (url.username || url.password) throw refuse('credentials in the URL are not allowed');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host)
    ? [host]
    : await lookup(host, { all: true }).then(
        (found) => found.map((entry) => entry.address),
        () => {
          throw refuse(`the host ${host} does not resolve`);
        },
      );
  for (const address of addresses) {
    const range = rangeOf(address);
    if (range === 'never') throw refuse(`${address} is not a routable address`);
    if (range !== null && !allowed.includes(range))
      throw refuse(`${address} is a ${range} address, which this server does not call`);
  }
  return url;
}

/** What a receiver answered: its status and the start of its body. */
export interface OutboundReply {
  status: number;
  body: string;
  duration_ms: number;
}

/** Receivers' answers are kept this long at most: enough to read an error, not a page. */
const MAX_REPLY_CHARS = 2048;

/**
 * POSTs a body to a URL already checked with assertReachable, within `timeoutMs`, never following
 * redirects (a redirect could lead anywhere). A network failure or a timeout throws.
 */
export async function postOutbound(
  url: URL,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  /** Aborts the call early: the server is stopping. */
  stop?: AbortSignal,
): Promise<OutboundReply> {
  const started = performance.now();
  const timeout = AbortSignal.timeout(timeoutMs);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'Fleetplane', ...headers },
    body,
    redirect: 'manual',
    signal: stop ? AbortSignal.any([timeout, stop]) : timeout,
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text.slice(0, MAX_REPLY_CHARS),
    duration_ms: Math.round(performance.now() - started),
  };
}

/** `FLEETPLANE_OUTBOUND_ALLOW`: a comma list of ranges; anything else is a configuration error. */
export function outboundRangesFrom(raw: string | undefined): OutboundRange[] | string {
  const ranges = (raw ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  const unknown = ranges.find((range) => !(range in RANGES));
  if (unknown !== undefined) return unknown;
  return ranges as OutboundRange[];
}
