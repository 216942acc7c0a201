/**
 * `useVm(options?, sharing?)`: one machine for the tests of a file or a describe block. Called at
 * the top of a file or inside a describe, it returns a test function whose tests all get the same
 * `vm`, booted on the first test that runs and shut down after the last one.
 *
 * ```ts
 * describe('read-only checks', () => {
 *   const test = useVm({ ram: '1G' });
 *   test('os-release names Debian', async ({ vm }) => { … });
 *   test('no unit failed', async ({ vm }) => { … });
 * });
 * ```
 */
import { join } from 'node:path';
import { afterAll, beforeAll, TestRunner, test as vitestTest, type TestAPI, type TestContext } from 'vitest';
import { InvalidOptionsError } from '../../errors.js';
import type { StartedMachine } from '../../machine/started-machine.js';
import type { MachineOptions } from '../../options/machine-options.js';
import { sharedArtifactsDirName, testArtifactsDirName } from '../artifact-names.js';
import { leaveOutRunAnnouncements, reportFailedBoot, reportMachineOfTest, shownPath, watchMachineOfTest } from '../machine-of-test.js';
import { mergeMachineOptions } from '../merge-options.js';
import { rejectUnknownTestOptions, rejectUnusableTimeout, splitTestOptions, type VitestTestOptions } from '../test-options.js';
import { pluginInProject, providedConfig } from '../provided.js';
import { vmTestTags } from '../vm-tag.js';
import { describeDefaultsFor, type SuiteLike } from './describe-defaults.js';
import { journalSince, REPORTED_JOURNAL_LINES } from './journal-slice.js';
import { keepsArtifacts, writeTestSlice } from './shared-machine.js';
import { isLastAttempt } from './shared-lifetime.js';
import { endWorkerMachines, SharedVmScope, workerPool } from './shared-scope.js';

/** The options of a shared machine: the machine options, over the project's and the describe's defaults. */
export type SharedVmOptions = Omit<MachineOptions, 'artifactsDir'>;

export interface SharingOptions {
  /**
   * `'scope'`: the machine belongs to this file or describe and is shut down after its last test.
   * `'worker'`: it is kept when its scope ends, and a later scope of the same vitest worker (another
   * file, with `isolate: false`) whose resolved options are identical gets it after `reset`, instead
   * of booting; it is shut down when the worker ends. State left by one file is seen by the next.
   * @default 'scope'
   */
  reuse?: 'scope' | 'worker';
  /**
   * With `reuse: 'worker'`: brings a reused machine back to a known state before a new scope gets it
   * (not run on a freshly booted one). When it throws, the machine is shut down and a fresh one booted.
   * @default undefined (no reset)
   */
  reset?: (vm: StartedMachine) => Promise<void> | void;
}

export interface SharedVmContext {
  /** The machine shared by the tests of this `useVm`, booted on first use. */
  vm: StartedMachine;
}

type SharedTestFunction = (context: TestContext & SharedVmContext) => unknown;

interface SharedTestCall {
  (name: string | Function, fn?: SharedTestFunction): void;
  /** `options` are vitest's test options (`timeout`, `retry`, `tags`, …); machine options belong to `useVm`. */
  (name: string | Function, options: VitestTestOptions, fn?: SharedTestFunction): void;
}

export interface SharedVmTestAPI extends SharedTestCall {
  skip: SharedVmTestAPI;
  only: SharedVmTestAPI;
  concurrent: SharedVmTestAPI;
  todo: SharedVmTestAPI;
  fails: SharedVmTestAPI;
  skipIf(condition: unknown): SharedVmTestAPI;
  runIf(condition: unknown): SharedVmTestAPI;
  /** One test per case; `fn` gets the case and the context: `(item, { vm }) => …`. */
  for<T>(cases: readonly T[]): {
    (name: string, fn: (item: T, context: TestContext & SharedVmContext) => unknown): void;
    (name: string, options: VitestTestOptions, fn: (item: T, context: TestContext & SharedVmContext) => unknown): void;
  };
  /**
   * The shared machine, booted on the first call: for `beforeAll`/`beforeEach` hooks of the same
   * describe registered after `useVm` (it is shut down after its last test, before later `afterAll` hooks).
   */
  machine(): Promise<StartedMachine>;
}

const META_KEY = 'vitest-vmspawn:shared';

declare module 'vitest' {
  interface TaskMeta {
    /** The shared machine (useVm) a test uses. */
    'vitest-vmspawn:shared'?: string;
  }
}

const scopes = new Map<string, SharedVmScope>();
let nextScope = 0;

// Every shared test's `vm`; the worker fixture ends the machines kept for reuse when the worker ends.
const sharedBase = vitestTest
  .extend('vmspawnWorkerMachines', { scope: 'worker' }, async ({}: object, { onCleanup }: { onCleanup: (cleanup: () => Promise<void>) => void }) => {
    onCleanup(endWorkerMachines);
    return workerPool();
  })
  .extend('vm', { auto: true }, async ({ task, annotate, signal, vmspawnWorkerMachines }: TestContext & { vmspawnWorkerMachines: unknown }, { onCleanup }: { onCleanup: (cleanup: () => Promise<void>) => void }) => {
    void vmspawnWorkerMachines;
    const scope = scopes.get(task.meta[META_KEY] ?? '');
    if (!scope) throw new Error(`vitest-vmspawn: the test "${task.name}" names a shared machine this worker does not know`);
    return useSharedMachine(scope, { task, annotate, signal }, onCleanup);
  }) as unknown as TestAPI;

async function useSharedMachine(
  scope: SharedVmScope,
  context: Pick<TestContext, 'task' | 'annotate' | 'signal'>,
  onCleanup: (cleanup: () => Promise<void>) => void,
): Promise<StartedMachine> {
  leaveOutRunAnnouncements();
  const { task } = context;
  scope.followRunStop(context.signal);
  const shared = await scope.lifetime.acquire().catch(async (error: unknown) => {
    await reportFailedBoot(context, scope.artifactsDir);
    throw error;
  });
  const from = shared.vm.journal.entries().length;
  const titles = testTitles(task);
  const retry = task.result?.retryCount ?? 0;
  const repeat = task.result?.repeatCount ?? 0;
  const sliceName = testArtifactsDirName({ file: '', titles, retry, repeat });
  // A failing test's report ends with the last lines of its own part of the journal (written to sliceFile after it).
  const sliceFile = join(shared.artifactsDir, 'tests', `${sliceName}.journal.txt`);
  const beforeRelease = watchMachineOfTest(shared.vm, context, {
    artifactsDir: shared.artifactsDir,
    journalRateLimit: shared.journalRateLimit,
    journalTail: { lines: REPORTED_JOURNAL_LINES, file: shownPath(sliceFile) },
  });
  onCleanup(async () => {
    const result = task.result;
    try {
      const failed = result?.state === 'fail';
      if (failed) shared.failed = true;
      await beforeRelease(); // the failure report; in debug mode, the wait for the person at the shell
      const slice = journalSince(shared.vm.journal.entries(), from);
      const record = { test: titles.join(' > '), file: task.file.name, state: result?.state ?? 'unknown', retry, repeat };
      await writeTestSlice(shared, sliceName, record, slice);
      await reportMachineOfTest(context, shared.vm, shared.artifactsDir, keepsArtifacts(providedConfig().preserveArtifacts, failed), shared.label);
    } finally {
      if (isLastAttempt({ state: result?.state, retryCount: retry, repeatCount: repeat }, task.retry, task.repeats)) scope.lifetime.release();
    }
  });
  return shared.vm;
}

function testTitles(task: TestContext['task']): string[] {
  const titles: string[] = [];
  for (let suite = task.suite; suite && suite.type === 'suite' && suite.name; suite = suite.suite) titles.unshift(suite.name);
  titles.push(task.name);
  return titles;
}

/** The describe titles of a suite being collected, outermost first (none at file level). */
function suiteTitles(suite: { name?: string; suite?: unknown } | undefined): string[] {
  const titles: string[] = [];
  for (let current = suite; current?.name; current = current.suite as typeof suite) titles.unshift(current.name);
  return titles;
}

/**
 * One machine for the tests this returns, in the file or describe block where it is called:
 * booted by the first of them that runs (not at all when none runs), shut down after the last one
 * (or when the describe ends), its artifacts in a directory named for the file and describe,
 * kept if one of its tests fails. Each test's part of the guest journal is written there. A failing
 * test gets the same report as a test.vm test (its crashes, errors and the last lines of its part of
 * the journal), and debug mode keeps the machine for a shell before the next test runs on it. The
 * tests carry the `vm` tag. A boot that fails fails each of the tests with its error.
 *
 * @param options machine options, over the project's `defaults` and the describe's `test.vm.defaults`
 * @param sharing `reuse: 'worker'` to keep the machine for later files of the worker, and their `reset`
 */
export function useVm(options: SharedVmOptions = {}, sharing: SharingOptions = {}): SharedVmTestAPI {
  if ('artifactsDir' in options) {
    throw new InvalidOptionsError([{ option: 'artifactsDir', message: "is chosen by the plugin for a shared machine: set the plugin's own artifactsDir" }], 'useVm options');
  }
  rejectUnknownTestOptions(options, 'useVm options'); // a typo fails the file's collection, before anything boots
  if (sharing.reuse !== undefined && sharing.reuse !== 'scope' && sharing.reuse !== 'worker') {
    throw new InvalidOptionsError([{ option: 'reuse', message: `expected 'scope' or 'worker', got ${JSON.stringify(sharing.reuse)}` }], 'useVm sharing options');
  }
  if (sharing.reset !== undefined && (typeof sharing.reset !== 'function' || sharing.reuse !== 'worker')) {
    throw new InvalidOptionsError([{ option: 'reset', message: "expected a function, with reuse: 'worker' (a machine that is not reused is never reset)" }], 'useVm sharing options');
  }
  // At the top of a file, the collector is vitest's default one: it holds the file, its suite does not.
  const collector = TestRunner.getCurrentSuite() as unknown as { file?: FileTask; suite?: SuiteLike & { name?: string; file?: FileTask } };
  const suite = collector.suite;
  const fileTask = collector.file ?? suite?.file;
  const file = fileTask?.name ?? 'unknown';
  const titles = suiteTitles(suite);
  const label = titles.length > 0 ? `"${titles.join(' > ')}" (${file})` : file;
  const id = `${process.pid}-${nextScope++}`;
  const artifactsDir = join(providedConfig().artifactsDir, sharedArtifactsDirName({ file, titles }));
  const bootLabel = `${[file, ...titles].join(' > ')} (shared)`;
  const scope = new SharedVmScope(id, label, artifactsDir, mergeMachineOptions(describeDefaultsFor(suite), options), sharing, bootLabel);
  scopes.set(id, scope);

  // The describe being collected, or the whole file: vitest has decided which of its tests run by its beforeAll.
  const tree = (titles.length > 0 ? suite : fileTask) as unknown as TaskTree | undefined;
  beforeAll(() => {
    if (tree) scope.lifetime.planUsers(countRunningTests(tree, id));
  });
  afterAll(async () => {
    await scope.lifetime.end();
    scopes.delete(id);
  });
  return createSharedTestAPI(id, scope);
}

interface FileTask {
  name: string;
}

interface TaskTree {
  type: string;
  mode: string;
  meta?: Record<string, unknown>;
  tasks?: TaskTree[];
}

/** Tests of the shared machine that vitest will run (after .only, .skip and name filters). */
function countRunningTests(task: TaskTree, id: string): number {
  if (task.type === 'test') return task.meta?.[META_KEY] === id && (task.mode === 'run' || task.mode === 'queued') ? 1 : 0;
  return (task.tasks ?? []).reduce((sum, child) => sum + countRunningTests(child, id), 0);
}

function createSharedTestAPI(id: string, scope: SharedVmScope): SharedVmTestAPI {
  const register = function (this: Record<string, boolean | undefined>, name: string | Function, optionsOrFn?: VitestTestOptions | Function, maybeFn?: Function) {
    const [options, fn] = typeof optionsOrFn === 'function' ? [{}, optionsOrFn] : [optionsOrFn ?? {}, maybeFn];
    const { testOptions, machineOptions } = splitTestOptions(options);
    const misplaced = Object.keys(machineOptions);
    if (misplaced.length > 0) {
      const problems = misplaced.map((option) => ({ option, message: 'is a machine option: the tests of a shared machine take only vitest\'s options; give it to useVm(…), or use test.vm for a machine of its own' }));
      throw new InvalidOptionsError(problems, 'shared machine test options');
    }
    rejectUnusableTimeout(testOptions);
    const flags: VitestTestOptions = {};
    for (const flag of ['skip', 'only', 'concurrent', 'todo', 'fails'] as const) if (this[flag]) flags[flag] = true;
    sharedBase(
      name,
      {
        ...testOptions,
        timeout: testOptions.timeout ?? providedConfig().testTimeout,
        ...flags,
        tags: vmTestTags(testOptions.tags, pluginInProject()),
        meta: { ...testOptions.meta, [META_KEY]: id },
      },
      fn as never,
    );
  };
  const api = TestRunner.createTaskCollector(register) as unknown as SharedVmTestAPI;
  return Object.assign(api, { machine: () => scope.lifetime.acquire().then((shared) => shared.vm) });
}
