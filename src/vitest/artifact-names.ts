/**
 * Per-test artifact directory names, predictable from the test: the file path without its
 * `.test.ts`-style suffix, the describe and test titles, and the retry and repeat, like
 * `e2e-boot-journal-forwarding-logger-output-arrives-retry1`.
 */
import { createHash } from 'node:crypto';

export interface TestIdentity {
  /** Test file path relative to the project root. */
  file: string;
  /** Titles from the outermost describe to the test. */
  titles: readonly string[];
  retry: number;
  repeat: number;
}

const MAX_LENGTH = 120;

export function testArtifactsDirName({ file, titles, retry, repeat }: TestIdentity): string {
  const fileStem = file.replace(/\.(test|spec)\.[cm]?[jt]sx?$/, '').replace(/\.[cm]?[jt]sx?$/, '');
  const base = sanitize([fileStem, ...titles].join('-'));
  const suffix = `${repeat > 0 ? `-repeat${repeat}` : ''}${retry > 0 ? `-retry${retry}` : ''}`;
  if (base.length <= MAX_LENGTH) return `${base}${suffix}`;
  // Long titles are cut; a hash of the whole keeps names distinct.
  const hash = createHash('sha1').update(base).digest('hex').slice(0, 8);
  return `${base.slice(0, MAX_LENGTH - 9).replace(/-+$/, '')}-${hash}${suffix}`;
}

/**
 * The directory of a machine shared by a file's or a describe's tests: the file and describe titles,
 * with `.shared-vm` to keep it apart from the tests' own directories, like `e2e-boot-read-only-checks.shared-vm`.
 */
export function sharedArtifactsDirName({ file, titles }: Pick<TestIdentity, 'file' | 'titles'>): string {
  return `${testArtifactsDirName({ file, titles, retry: 0, repeat: 0 })}.shared-vm`;
}

function sanitize(text: string): string {
  return text
    .replace(/[^a-zA-Z0-9._]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+|-+$/g, '');
}

/**
 * The artifacts root of one shard of a sharded run (`--shard 2/3` → `<root>/shard-2-of-3`), so the
 * jobs of a CI matrix upload directories that cannot collide, and the paths in merged reports
 * (`--merge-reports`) say which job holds them.
 */
export function shardArtifactsRoot(root: string, shard: { index: number; count: number } | undefined): string {
  return shard ? `${root.replace(/\/+$/, '')}/shard-${shard.index}-of-${shard.count}` : root;
}
