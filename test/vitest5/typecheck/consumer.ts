/**
 * A consumer of the package under vitest 5's types (scripts/vitest5.sh type-checks it in
 * .cache/vitest5, with skipLibCheck off, so the package's own declarations are checked too): the
 * matchers reach `expect(…)` and a misspelt one is an error.
 */
import { expect } from 'vitest';
import type { ExecResult, StartedMachine } from 'vitest-vmspawn';
import 'vitest-vmspawn/matchers';

declare const vm: StartedMachine;
declare const result: ExecResult;

expect(vm.journal).toContainEntry({ identifier: 'sshd-session', message: /Accepted publickey/ });
expect(vm.journal).toHaveNoEntries({ priority: 'err' });
expect(result).toSucceed();
expect(result).toExitWith(0);
await expect(vm).toHaveUnitActive('multi-user.target');
// @ts-expect-error a misspelt matcher
expect(result).toSuceed();
