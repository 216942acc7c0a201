/**
 * The `vm` test tag: the plugin declares it (vitest refuses undeclared tags) and `test.vm` and
 * `useVm` put it on every test they register, so `vitest --tags-filter=vm` runs only the VM tests and
 * `--tags-filter='!vm'` everything else.
 */
import type { TestOptions } from 'vitest';
import type { TestTagDefinition } from 'vitest/config';

export const VM_TAG = 'vm';

export const VM_TAG_DEFINITION: TestTagDefinition = { name: VM_TAG, description: 'uses a virtual machine (test.vm or useVm of vitest-vmspawn)' };

/** The tags the plugin adds to the config: `vm`, unless the project declares it itself. */
export function tagsToDeclare(declared: readonly TestTagDefinition[] | undefined): TestTagDefinition[] {
  return declared?.some((tag) => tag.name === VM_TAG) ? [] : [VM_TAG_DEFINITION];
}

/** A VM test's tags: its own and `vm`, when the tag is declared (by the plugin). */
export function vmTestTags(tags: TestOptions['tags'], tagDeclared: boolean): TestOptions['tags'] {
  const own = tags === undefined ? [] : Array.isArray(tags) ? tags : [tags];
  if (!tagDeclared || own.includes(VM_TAG)) return tags;
  return [VM_TAG, ...own] as TestOptions['tags'];
}
