/**
 * The start loop of src/machine/qemu-launch.ts against a stand-in for QEMU: a script that exits as
 * QEMU does when its guest CID is taken, or else serves a minimal QMP monitor.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { MAX_CID_ATTEMPTS } from '../../src/machine/cid-retry.js';
import { launchQemu, type QemuLaunchInput } from '../../src/machine/qemu-launch.js';
import { machineLayout, type MachineLayout } from '../../src/plan/machine-layout.js';

/** `-taken CIDS|all`, `-fail MESSAGE`, `-qmp PATH`, `-device vhost-vsock-pci,guest-cid=N`. */
const FAKE_QEMU = `#!/usr/bin/env node
import { createServer } from 'node:net';
const args = process.argv.slice(2);
const option = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1]; };
const device = option('-device') ?? '';
const cid = /guest-cid=(\\d+)/.exec(device)?.[1];
const taken = option('-taken') ?? '';
if (option('-fail')) { console.error('qemu-system-x86_64: ' + option('-fail')); process.exit(1); }
if (cid && (taken === 'all' || taken.split(',').includes(cid))) {
  console.error('qemu-system-x86_64: -device ' + device + ': vhost-vsock: unable to set guest cid: Address already in use');
  process.exit(1);
}
createServer((socket) => {
  socket.write(JSON.stringify({ QMP: { version: {}, capabilities: [] } }) + '\\n');
  socket.on('data', (data) => {
    for (const line of data.toString().split('\\n').filter(Boolean)) socket.write(JSON.stringify({ return: {}, id: JSON.parse(line).id }) + '\\n');
  });
}).listen(option('-qmp'));
`;

let dir: string;
let fakeQemu: string;
let layout: MachineLayout;
let run = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qemu-launch-'));
  fakeQemu = join(dir, 'fake-qemu.mjs');
  await writeFile(fakeQemu, FAKE_QEMU);
  await chmod(fakeQemu, 0o755);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function launch(extraArgs: string[], input: Partial<QemuLaunchInput>) {
  run++;
  layout = machineLayout(join(dir, `run-${run}`), join(dir, `run-${run}`, 'artifacts'));
  await mkdir(layout.artifactsDir, { recursive: true });
  const lines: string[] = [];
  const launched = launchQemu({
    binary: fakeQemu,
    argsFor: (cid) => [...extraArgs, '-qmp', layout.qmpSocket, ...(cid === undefined ? [] : ['-device', `vhost-vsock-pci,guest-cid=${cid}`])],
    kernelVsockCid: 1234,
    cidChosenByUser: false,
    layout,
    pidFile: join(layout.runtimeDir, 'pids'),
    log: (line) => lines.push(line),
    ...input,
  });
  return { launched, lines };
}

test('a CID that is free: one start, the monitor connected', async () => {
  const { launched, lines } = await launch([], {});
  const { qemu, qmp, guestCid } = await launched;
  expect(guestCid).toBe(1234);
  expect(lines).toEqual(['vsock: guest CID 1234']);
  (await qmp).close();
  qemu.kill();
});

test('a taken CID: QEMU is started again with another, and the command line artifact follows', async () => {
  const { launched, lines } = await launch(['-taken', '1234'], {});
  const { qemu, qmp, guestCid } = await launched;
  expect(guestCid).not.toBe(1234);
  expect(lines).toEqual([`vsock: guest CID 1234 is taken by another virtual machine; trying ${guestCid}`, `vsock: guest CID ${guestCid} (start 2)`]);
  expect(await readFile(layout.qemuCommandLine, 'utf8')).toContain(`guest-cid=${guestCid}`);
  expect(await readFile(layout.qemuLog, 'utf8')).toContain('guest-cid=1234: vhost-vsock: unable to set guest cid: Address already in use');
  (await qmp).close();
  qemu.kill();
});

test('CIDs taken again and again: the start fails after a bounded number of attempts', async () => {
  const { launched } = await launch(['-taken', 'all'], {});
  await expect(launched).rejects.toThrow(`Kernel vsock: ${MAX_CID_ATTEMPTS} guest CIDs in a row were taken`);
  expect((await readFile(layout.qemuLog, 'utf8')).match(/unable to set guest cid/g)).toHaveLength(MAX_CID_ATTEMPTS);
});

test("the user's vsockCid is not replaced", async () => {
  const { launched } = await launch(['-taken', '1234'], { cidChosenByUser: true });
  await expect(launched).rejects.toThrow(/^vsockCid: the guest CID 1234 is taken/);
});

test("another failure is left to the boot's failure path; without kernel vsock QEMU starts once, unwatched", async () => {
  const failed = await (await launch(['-fail', 'cannot open the disk'], {})).launched;
  await expect(failed.qmp).rejects.toThrow(/control socket/);
  expect(failed.qemu.hasExited).toBe(true);

  const { launched, lines } = await launch([], { kernelVsockCid: undefined });
  const { qemu, qmp, guestCid } = await launched;
  expect(guestCid).toBeUndefined();
  expect(lines).toEqual([]);
  (await qmp).close();
  qemu.kill();
});
