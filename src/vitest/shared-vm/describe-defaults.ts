/**
 * Machine options a describe block gives its tests (`test.vm.defaults({...})` inside it): they sit
 * between the project's defaults and a test's own options, inner describes over outer ones.
 */
import type { MachineOptions } from '../../options/machine-options.js';
import { mergeMachineOptions } from '../merge-options.js';

/** A describe block as vitest collects it: its parent, up to the file. */
export interface SuiteLike {
  suite?: SuiteLike | undefined;
}

const defaultsBySuite = new WeakMap<SuiteLike, MachineOptions>();

/** Adds `options` to the defaults of `suite` (a second call in the same describe merges over the first). */
export function setDescribeDefaults(suite: SuiteLike, options: MachineOptions): void {
  defaultsBySuite.set(suite, mergeMachineOptions(defaultsBySuite.get(suite) ?? {}, options));
}

/** The defaults in effect in `suite`: those of every enclosing describe, the innermost last. */
export function describeDefaultsFor(suite: SuiteLike | undefined): MachineOptions {
  const layers: MachineOptions[] = [];
  for (let current = suite; current; current = current.suite) {
    const defaults = defaultsBySuite.get(current);
    if (defaults) layers.unshift(defaults);
  }
  return mergeMachineOptions(...layers);
}
