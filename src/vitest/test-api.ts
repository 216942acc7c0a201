/**
 * `test.vm(name, options?, fn)`: a vitest test whose context has a freshly booted `vm`.
 * Built with vitest's own task collector, so `.skip`, `.only`, `.concurrent`,
 * `.todo`, `.fails`, `.skipIf`, `.runIf`, `.for` and `.each` behave as on `test`.
 */
import { TestRunner, test as vitestTest, type TestAPI, type TestContext } from 'vitest';
import { removeLiveRuntimeDirsSync } from '../host/runtime-dir.js';
import { endLiveMachines } from '../machine/machine-runtime.js';
import type { StartedMachine } from '../machine/started-machine.js';
import type { MachineOptions } from '../options/machine-options.js';
import { killManagedProcesses, onParentGone } from '../process/managed-process.js';
import { mergeMachineOptions } from './merge-options.js';
import { describeDefaultsFor, setDescribeDefaults, type SuiteLike } from './shared-vm/describe-defaults.js';
import { rejectUnknownTestOptions, rejectUnusableTimeout, splitTestOptions, type VitestTestOptions, type VmTestOptions } from './test-options.js';
import { pluginInProject, providedConfig } from './provided.js';
import { startTestMachine } from './vm-fixture.js';
import { vmTestTags } from './vm-tag.js';

export type { VmTestOptions } from './test-options.js';

export interface VmContext {
  /** The test's machine, booted and ready (SSH answered, unless `ssh: false`). */
  vm: StartedMachine;
}

type VmTestFunction<Context> = (context: TestContext & Context & VmContext) => unknown;

interface VmTestCall<Context> {
  (name: string | Function, fn?: VmTestFunction<Context>): void;
  (name: string | Function, options: VmTestOptions, fn?: VmTestFunction<Context>): void;
}

export interface VmTestAPI<Context = object> extends VmTestCall<Context> {
  skip: VmTestAPI<Context>;
  only: VmTestAPI<Context>;
  concurrent: VmTestAPI<Context>;
  todo: VmTestAPI<Context>;
  fails: VmTestAPI<Context>;
  skipIf(condition: unknown): VmTestAPI<Context>;
  runIf(condition: unknown): VmTestAPI<Context>;
  /** One test per case; `fn` gets the case and the context: `(item, { vm }) => …`. */
  for<T>(cases: readonly T[]): {
    (name: string, fn: (item: T, context: TestContext & Context & VmContext) => unknown): void;
    (name: string, options: VmTestOptions, fn: (item: T, context: TestContext & Context & VmContext) => unknown): void;
  };
  /**
   * Machine options for the test.vm tests and `useVm` machines of the describe block (or file) it
   * is called in, and of the describes inside it: over the project's defaults, under each test's own.
   */
  defaults(options: Omit<MachineOptions, 'artifactsDir'>): void;
  /**
   * One test per case; `fn` gets the case's values spread (an array case) followed by the context.
   * Array cases are typed as tuples, as with vitest's `test.each`: `each([['a', 1]])` gives
   * `(letter: string, number: number, { vm })`. Only `vm` and vitest's own context are set up for
   * it; use `.for` to reach other fixtures.
   */
  each<T extends unknown[] | [unknown]>(cases: readonly T[]): VmEachCall<T, Context>;
  each<T extends readonly unknown[]>(cases: readonly T[]): VmEachCall<[...T], Context>;
  each<T>(cases: readonly T[]): VmEachCall<[T], Context>;
}

interface VmEachCall<Args extends unknown[], Context> {
  (name: string, fn: (...args: [...Args, TestContext & Context & VmContext]) => unknown): void;
  (name: string, options: VmTestOptions, fn: (...args: [...Args, TestContext & Context & VmContext]) => unknown): void;
}

/** A vitest test API with a `vm` fixture (booted with the project defaults when used) and `.vm`. */
export type TestWithVm<Base> = WithVmFixture<Base> & { vm: VmTestAPI<ContextOf<Base>> };
/** `Base` with `vm` among its fixtures, as `base.extend('vm', …)` types it. */
type WithVmFixture<Base> = Base extends TestAPI<infer Extra> ? TestAPI<Extra & VmContext> : Base;
/** The fixtures of a test API, read from what its beforeEach hooks receive. */
type ContextOf<Base> = Base extends { beforeEach: (listener: (context: infer Context, ...rest: any[]) => any, ...rest: any[]) => any }
  ? Context
  : object;

// A vitest worker whose runner went away (killed, interrupted) can never report again: it ends its
// machines, writes their artifacts and exits, instead of living on as an orphan. A worker told to
// stop (SIGTERM: vitest ends its workers so, and kills them 500 ms later; SIGINT: Ctrl-C reaches
// the whole process group) does the same in the time it has. Processes and runtime directories
// (sockets, credentials) go first and synchronously, so a SIGKILL cannot leave them behind.
const ABANDONED = 'the test run was stopped while the machine ran';
let ending: Promise<void> | undefined;
function endMachinesAndExit(code: number, timeoutMs: number): void {
  if (ending) return;
  const finished = endLiveMachines('abandoned', ABANDONED, timeoutMs);
  killManagedProcesses();
  removeLiveRuntimeDirsSync();
  ending = finished.finally(() => process.exit(code));
}
onParentGone(() => endMachinesAndExit(1, 10_000));
// `on`, not `once`: execa's exit handler re-raises a signal that no other listener is left to handle.
process.on('SIGINT', () => endMachinesAndExit(130, 10_000));
process.on('SIGTERM', () => endMachinesAndExit(143, 400));

/** Where test.vm leaves each test's machine options for the fixture: the test's meta holds only the key. */
const META_KEY = 'vitest-vmspawn';
const optionsByKey = new Map<string, MachineOptions>();

declare module 'vitest' {
  interface TaskMeta {
    /** Key of the machine options a test.vm test was declared with. */
    'vitest-vmspawn'?: string;
  }
}

/**
 * Adds the `vm` fixture and `.vm` to a test API that already has fixtures of its own:
 * `export const test = withVm(baseTest)`.
 */
export function withVm<Base extends { extend: Function; beforeEach: Function }>(base: Base): TestWithVm<Base> {
  const fixture = async ({ task, signal, annotate }: TestContext, { onCleanup }: { onCleanup: (cleanup: () => Promise<void>) => void }) => {
    const key = task.meta[META_KEY];
    return startTestMachine({ task, signal, annotate }, (key && optionsByKey.get(key)) || {}, onCleanup);
  };
  // `vm` on the returned API boots only for tests that use it; test.vm tests always boot, even
  // when their function does not name `vm` (a test of the boot itself).
  const withLazyVm = (base as unknown as TestAPI).extend('vm', fixture);
  const withBootedVm = (base as unknown as TestAPI).extend('vm', { auto: true }, fixture);
  return Object.assign(withLazyVm, { vm: createVmTestAPI(withBootedVm as unknown as TestAPI) }) as unknown as TestWithVm<Base>;
}

function createVmTestAPI(testWithFixture: TestAPI): VmTestAPI {
  let nextKey = 0;
  const register = function (this: ChainFlags, name: string | Function, optionsOrFn?: VmTestOptions | Function, maybeFn?: Function) {
    const [options, fn] = parseCall(optionsOrFn, maybeFn);
    const { testOptions, machineOptions } = splitTestOptions(options);
    rejectUnusableTimeout(testOptions);
    const key = `${process.pid}-${nextKey++}`;
    optionsByKey.set(key, mergeMachineOptions(describeDefaultsFor(currentSuite()), machineOptions));
    testWithFixture(
      name,
      {
        ...testOptions,
        timeout: testOptions.timeout ?? providedConfig().testTimeout,
        ...chainFlags(this),
        tags: vmTestTags(testOptions.tags, pluginInProject()),
        meta: { ...testOptions.meta, [META_KEY]: key },
      },
      fn as never,
    );
  };
  const api = TestRunner.createTaskCollector(register) as unknown as VmTestAPI;
  const each = function (this: VmTestAPI, cases: readonly unknown[]) {
    const chain = this;
    const spread = cases.every(Array.isArray);
    return (name: string, optionsOrFn?: VmTestOptions | Function, maybeFn?: Function) => {
      const [options, fn] = parseCall(optionsOrFn, maybeFn);
      // The second parameter's destructuring tells vitest which fixtures the test uses.
      const handler = fn && function (item: unknown, { vm }: VmContext) {
        void vm;
        return fn(...(spread ? (item as unknown[]) : [item]), arguments[1]);
      };
      chain.for(cases)(name, options, handler as never);
    };
  };
  const defaults = (options: MachineOptions) => {
    rejectUnknownTestOptions(options, 'test.vm.defaults options');
    setDescribeDefaults(currentSuite() ?? {}, options);
  };
  // The collector copies its function's properties onto every chained API (.skip, .only, …).
  Object.assign((api as unknown as { fn: object }).fn, { each, defaults });
  return Object.assign(api, { each, defaults });
}

/** The describe block (or file) being collected. */
function currentSuite(): SuiteLike | undefined {
  return (TestRunner.getCurrentSuite() as unknown as { suite?: SuiteLike } | undefined)?.suite;
}

interface ChainFlags {
  skip?: boolean;
  only?: boolean;
  concurrent?: boolean;
  todo?: boolean;
  fails?: boolean;
}

function chainFlags(flags: ChainFlags): VitestTestOptions {
  const result: VitestTestOptions = {};
  for (const flag of ['skip', 'only', 'concurrent', 'todo', 'fails'] as const) if (flags[flag]) result[flag] = true;
  return result;
}

/** `(name, fn)` or `(name, options, fn)`, as vitest's own test functions take them. */
function parseCall(optionsOrFn: VmTestOptions | Function | undefined, maybeFn: Function | undefined): [VmTestOptions, Function | undefined] {
  return typeof optionsOrFn === 'function' ? [{}, optionsOrFn] : [optionsOrFn ?? {}, maybeFn];
}

/** vitest's `test` with the `vm` fixture and `test.vm`. */
export const test: TestWithVm<typeof vitestTest> = withVm(vitestTest);
