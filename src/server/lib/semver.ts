/**
 * Strict semantic versions (semver.org 2.0.0): MAJOR.MINOR.PATCH, an optional `-prerelease` and
 * `+build`, no leading zeros, no `v` prefix. The regular expression is the one semver.org gives.
 */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export const MAX_VERSION_LENGTH = 100;

interface Parsed {
  core: [string, string, string];
  prerelease: string[];
}

function parse(version: string): Parsed | undefined {
  if (version.length > MAX_VERSION_LENGTH) return undefined;
  const m = SEMVER.exec(version);
  if (!m) return undefined;
  return { core: [m[1]!, m[2]!, m[3]!], prerelease: m[4] === undefined ? [] : m[4].split('.') };
}

export function isSemver(version: string): boolean {
  return parse(version) !== undefined;
}

const NUMERIC = /^\d+$/;

/** Numbers without leading zeros, of any length: the longer is larger, else the text decides. */
function compareNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareIdentifiers(a: string, b: string): number {
  const aNumeric = NUMERIC.test(a);
  const bNumeric = NUMERIC.test(b);
  if (aNumeric && bNumeric) return compareNumbers(a, b);
  // numeric identifiers have lower precedence than alphanumeric ones
  if (aNumeric !== bNumeric) return aNumeric ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Precedence as semver.org defines it (build metadata ignored): negative, zero or positive. */
export function compareSemver(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  if (!x || !y) throw new Error(`not a semantic version: ${x ? b : a}`);
  for (let i = 0; i < 3; i += 1) {
    const order = compareNumbers(x.core[i]!, y.core[i]!);
    if (order !== 0) return order;
  }
  // a release has higher precedence than its pre-releases
  if (x.prerelease.length === 0 || y.prerelease.length === 0)
    return y.prerelease.length - x.prerelease.length;
  for (let i = 0; i < Math.min(x.prerelease.length, y.prerelease.length); i += 1) {
    const order = compareIdentifiers(x.prerelease[i]!, y.prerelease[i]!);
    if (order !== 0) return order;
  }
  return x.prerelease.length - y.prerelease.length;
}

/**
 * Order of versions an agent or a build reports: semver precedence as -1, 0 or 1, a leading `v`
 * allowed; something that is not a version sorts lowest, so an agent reporting garbage is offered
 * the build.
 */
export function compareVersions(a: string, b: string): number {
  const x = a.trim().replace(/^v/, '');
  const y = b.trim().replace(/^v/, '');
  if (!isSemver(x) || !isSemver(y)) return Number(isSemver(x)) - Number(isSemver(y));
  return Math.sign(compareSemver(x, y));
}
