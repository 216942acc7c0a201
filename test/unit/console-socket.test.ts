/** The consoleSocket option: the serial console served on a Unix socket, still logged to console.log. */
import { expect, test } from 'vitest';
import { planWith, problemsOf, valuesOf } from './plan-fixtures.js';

test('without consoleSocket the console goes to console.log only', () => {
  const args = planWith({}).qemu.args;
  expect(valuesOf(args, '-chardev')).toContain('file,id=console,path=/art/test-1/console.log');
  expect(valuesOf(args, '-serial')).toEqual(['chardev:console']);
});

test('with consoleSocket QEMU listens on it, without waiting, and logs every byte to console.log', () => {
  const args = planWith({ consoleSocket: '/run/user/1000/cli,x/console.sock' }).qemu.args;
  expect(valuesOf(args, '-chardev')).toContain('socket,id=console,path=/run/user/1000/cli,,x/console.sock,server=on,wait=off,logfile=/art/test-1/console.log');
  expect(valuesOf(args, '-chardev').some((chardev) => chardev.startsWith('file,id=console'))).toBe(false);
  expect(valuesOf(args, '-serial')).toEqual(['chardev:console']);
});

test('a console socket path is non-empty and fits in a Unix socket address', () => {
  expect(problemsOf({ linux: '/k', consoleSocket: '' })).toEqual(["consoleSocket: expected the path of the console's Unix socket, got an empty string"]);
  expect(problemsOf({ linux: '/k', consoleSocket: `/${'x'.repeat(107)}` })).toEqual(['consoleSocket: expected a Unix socket path of at most 107 bytes']);
});
