/** What the vitest integration puts into reports: artifact paths, and errors printed once. */
import { describe, expect, test } from 'vitest';
import { BootError } from '../../src/errors.js';
import { artifactsAnnotation } from '../../src/vitest/artifacts-report.js';
import { tagsToDeclare, VM_TAG_DEFINITION, vmTestTags } from '../../src/vitest/vm-tag.js';

test('a BootError holds the console tail once: in its message, not again in its serialized form', () => {
  const error = new BootError('the guest did not become ready', { consoleTail: 'Kernel panic - not syncing\n', artifactsDir: '/a/b' });
  expect(error.message.split('Kernel panic').length - 1).toBe(1);
  expect(error.consoleTail).toBe('Kernel panic - not syncing\n');
  // vitest prints the message, the stack's frames, and then the serialized error's other properties.
  const { message, stack, ...properties } = error.toJSON();
  expect([message, stack]).toEqual([error.message, error.stack]);
  expect(properties).toEqual({ name: 'BootError', artifactsDir: '/a/b' });
});

test('the artifacts annotation names the directory relative to the working directory', () => {
  expect(artifactsAnnotation('/project/test-results/a-b', '/project')).toBe('VM artifacts: test-results/a-b');
  expect(artifactsAnnotation('/elsewhere/x', '/project')).toBe('VM artifacts: ../elsewhere/x');
});

describe('the vm tag', () => {
  test('is declared unless the project declares it', () => {
    expect(tagsToDeclare(undefined)).toEqual([VM_TAG_DEFINITION]);
    expect(tagsToDeclare([{ name: 'slow' }])).toEqual([VM_TAG_DEFINITION]);
    expect(tagsToDeclare([{ name: 'vm', description: 'mine' }])).toEqual([]);
  });

  test('goes on every VM test next to its own tags, once the plugin declared it', () => {
    expect(vmTestTags(undefined, true)).toEqual(['vm']);
    expect(vmTestTags('slow', true)).toEqual(['vm', 'slow']);
    expect(vmTestTags(['slow', 'vm'], true)).toEqual(['slow', 'vm']);
    // Without the plugin the tag is undeclared, and vitest would refuse the test.
    expect(vmTestTags(['slow'], false)).toEqual(['slow']);
    expect(vmTestTags(undefined, false)).toBeUndefined();
  });
});
