/**
 * A consumer of the package under vitest 5's types (scripts/vitest5.sh type-checks it in
 * .cache/vitest5): the matchers reach `expect(…)` and a misspelt one is an error. vitest 5 changed
 * the type parameters of its `Matchers` interface, so the package's augmentation (written for
 * vitest 4's) type-checks under vitest 5 only with `skipLibCheck`, which this project sets.
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
