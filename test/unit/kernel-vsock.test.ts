/**
 * Kernel vsock without kernel vsock: the choice, the plan, the CID and its retry are pure; the socat
 * bridges run here with unix sockets in place of the VSOCK addresses (nothing opens an AF_VSOCK socket).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { problemsOf } from './plan-fixtures.js';
import { findExecutable } from '../../src/host/tools.js';
import { chooseVsock, decideVsock, parseVsockOverride, probeVhostVsock, type VsockHostSupport } from '../../src/host/vsock-choice.js';
import { decideCidRetry, MAX_CID_ATTEMPTS } from '../../src/machine/cid-retry.js';
import { resolveMachineOptions } from '../../src/options/resolve-options.js';
import { machineLayout } from '../../src/plan/machine-layout.js';
import { cidFromMachineName, MAX_GUEST_CID, MIN_GUEST_CID } from '../../src/plan/vsock-cid.js';
import { planVsock } from '../../src/plan/vsock-plan.js';
import { KernelVsock, socatArguments, socatErrors, socatIsListening, vsockAddresses } from '../../src/transport/kernel-vsock.js';
import { siphash24 } from '../../src/util/siphash24.js';
import { prepareDebugShell } from '../../src/vitest/debug-shell.js';
import type { StartedMachine } from '../../src/machine/started-machine.js';

const usable: VsockHostSupport = { device: { usable: true, detail: '/dev/vhost-vsock is usable' }, socat: '/usr/bin/socat', userSpaceVsock: true };
const noDevice: VsockHostSupport = { ...usable, device: { usable: false, detail: 'this host has no kernel vsock (/dev/vhost-vsock does not exist)' } };
const noSocat: VsockHostSupport = { ...usable, socat: undefined };

describe('vsock choice', () => {
  test("'auto' takes the kernel's vsock when the device opens and socat is installed, and says why", () => {
    expect(decideVsock('auto', undefined, usable)).toEqual({ kind: 'kernel', reason: expect.stringMatching(/^vsock: kernel .*\/dev\/vhost-vsock is usable and socat is installed/) });
  });

  test("'auto' falls back to user-space, naming what kernel vsock lacks", () => {
    expect(decideVsock('auto', undefined, noDevice)).toEqual({ kind: 'user-space', reason: expect.stringContaining('because this host has no kernel vsock') });
    expect(decideVsock('auto', undefined, noSocat).reason).toMatch(/user-space .*because socat is not installed/);
  });

  test("'user-space' and 'kernel' as configured; 'kernel' without support fails naming the option", () => {
    expect(decideVsock('user-space', undefined, usable)).toEqual({ kind: 'user-space', reason: expect.stringContaining('as configured') });
    expect(decideVsock('kernel', undefined, usable)).toEqual({ kind: 'kernel', reason: expect.stringContaining('as configured') });
    expect(() => decideVsock('kernel', undefined, noDevice)).toThrow(/^vsock: 'kernel' needs kernel vsock, but this host has no kernel vsock .*install socat/);
    expect(() => decideVsock('kernel', undefined, noSocat)).toThrow(/socat is not installed/);
  });

  test('VMSPAWN_VSOCK overrides only auto', () => {
    expect(decideVsock('auto', 'user-space', usable)).toEqual({ kind: 'user-space', reason: expect.stringContaining('from VMSPAWN_VSOCK=user-space') });
    expect(decideVsock('auto', 'kernel', usable)).toEqual({ kind: 'kernel', reason: expect.stringContaining('from VMSPAWN_VSOCK=kernel') });
    expect(() => decideVsock('auto', 'kernel', noDevice)).toThrow(/^VMSPAWN_VSOCK=kernel needs kernel vsock/);
    expect(decideVsock('user-space', 'kernel', usable).kind).toBe('user-space');
    expect(decideVsock('auto', 'none', usable)).toEqual({ kind: 'none', reason: expect.stringContaining('from VMSPAWN_VSOCK=none') });
  });

  test('VMSPAWN_VSOCK is parsed strictly', () => {
    expect(parseVsockOverride(undefined)).toBeUndefined();
    expect(parseVsockOverride('')).toBeUndefined();
    expect(parseVsockOverride('kernel')).toBe('kernel');
    expect(parseVsockOverride('user-space')).toBe('user-space');
    expect(parseVsockOverride('none')).toBe('none');
    expect(parseVsockOverride('auto')).toBeUndefined();
    expect(() => parseVsockOverride('vhost')).toThrow(/VMSPAWN_VSOCK.*is "vhost"; expected kernel, user-space, none or auto, or unset it/s);
  });

  test('the device check opens the device read-write, and says why it cannot', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vsock-probe-'));
    try {
      expect(await probeVhostVsock(join(dir, 'missing'))).toEqual({ usable: false, detail: expect.stringContaining('does not exist') });
      await writeFile(join(dir, 'device'), '');
      expect(await probeVhostVsock(join(dir, 'device'))).toEqual({ usable: true, detail: expect.stringContaining('is usable') });
      expect((await probeVhostVsock(dir)).usable).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("'auto' on this host follows what it has (here, without /dev/vhost-vsock: user-space)", async () => {
    const saved = process.env.VMSPAWN_VSOCK;
    delete process.env.VMSPAWN_VSOCK;
    try {
      const device = await probeVhostVsock();
      const socat = await findExecutable('socat');
      const choice = await chooseVsock('auto');
      expect(choice.kind).toBe(device.usable && socat ? 'kernel' : 'user-space');
      if (!device.usable) expect(choice.reason).toContain(device.detail);
    } finally {
      if (saved !== undefined) process.env.VMSPAWN_VSOCK = saved;
    }
  });
});

describe('vsockCid option', () => {
  const boot = { linux: '/boot/vmlinuz', initrd: '/boot/initrd.img' };

  test('accepts 3 to 0xFFFFFFFE and kernel', () => {
    expect(resolveMachineOptions({ ...boot, vsock: 'kernel', vsockCid: 3 })).toMatchObject({ vsock: 'kernel', vsockCid: 3 });
    expect(resolveMachineOptions({ ...boot, vsockCid: 0xffff_fffe }).vsockCid).toBe(0xffff_fffe);
    expect(resolveMachineOptions(boot).vsockCid).toBeUndefined();
  });

  test('rejects reserved, out-of-range and fractional CIDs, naming the option', () => {
    expect(problemsOf({ ...boot, vsockCid: 2 })).toEqual(['vsockCid: expected a CID of at least 3 (0, 1 and 2 are reserved: hypervisor, local, host)']);
    expect(problemsOf({ ...boot, vsockCid: 0xffff_ffff })).toEqual(['vsockCid: expected a CID of at most 4294967294 (0xFFFFFFFE; 0xFFFFFFFF is VMADDR_CID_ANY)']);
    expect(problemsOf({ ...boot, vsockCid: 3.5 })).toEqual(['vsockCid: expected a whole number, 3 to 4294967294 (0xFFFFFFFE)']);
    expect(problemsOf({ ...boot, vsockCid: '42' })).toEqual(['vsockCid: expected a vsock CID as a number, 3 to 4294967294 (0xFFFFFFFE)']);
    expect(problemsOf({ ...boot, vsock: 'vhost' })).toEqual(["vsock: expected 'auto', 'kernel', 'user-space' or false"]);
  });
});

describe('guest CID', () => {
  test('SipHash-2-4 matches the reference vectors of its paper', () => {
    const key = Uint8Array.from({ length: 16 }, (_, i) => i);
    expect(siphash24(new Uint8Array(0), key)).toBe(0x726fdb47dd0e0e31n);
    expect(siphash24(Uint8Array.from({ length: 15 }, (_, i) => i), key)).toBe(0xa129ca6149be45e5n);
    expect(siphash24(Uint8Array.from({ length: 8 }, (_, i) => i), key)).toBe(0x93f5f5799a932462n);
  });

  test('is derived from the machine name, stays in range and changes with the attempt', () => {
    const cid = cidFromMachineName('vm');
    expect(cid).toBe(cidFromMachineName('vm'));
    expect(cid).not.toBe(cidFromMachineName('other'));
    expect(cid).not.toBe(cidFromMachineName('vm', 1));
    for (const name of ['vm', 'a', 'machine-with-a-long-name', 'ü']) {
      const derived = cidFromMachineName(name);
      expect(derived).toBeGreaterThanOrEqual(MIN_GUEST_CID);
      expect(derived).toBeLessThanOrEqual(MAX_GUEST_CID);
    }
  });

  const clash = 'qemu-system-x86_64: -device vhost-vsock-pci,guest-cid=1234,id=vsock0,addr=0x4: vhost-vsock: unable to set guest cid: Address already in use';

  test('a taken CID is replaced by a random one, a bounded number of times', () => {
    expect(decideCidRetry({ qemuOutput: clash, cid: 1234, attempt: 1, chosenByUser: false, randomCid: 99 })).toEqual({
      action: 'retry',
      cid: 99,
      reason: 'vsock: guest CID 1234 is taken by another virtual machine; trying 99',
    });
    expect(decideCidRetry({ qemuOutput: clash, cid: 1234, attempt: MAX_CID_ATTEMPTS, chosenByUser: false, randomCid: 99 })).toEqual({
      action: 'fail',
      message: expect.stringMatching(/^Kernel vsock: 5 guest CIDs in a row were taken .*Set vsockCid/),
    });
  });

  test("the user's vsockCid is never replaced", () => {
    expect(decideCidRetry({ qemuOutput: clash, cid: 1234, attempt: 1, chosenByUser: true, randomCid: 99 })).toEqual({
      action: 'fail',
      message: expect.stringMatching(/^vsockCid: the guest CID 1234 is taken by another virtual machine on this host .*Choose another vsockCid/),
    });
  });

  test('another QEMU failure is no CID clash', () => {
    const other = 'qemu-system-x86_64: -device vhost-vsock-pci,guest-cid=1234: vhost-vsock: failed to open vhost device: No such file or directory';
    expect(decideCidRetry({ qemuOutput: other, cid: 1234, attempt: 1, chosenByUser: false, randomCid: 99 })).toEqual({ action: 'not-a-cid-clash' });
  });
});

describe('kernel vsock plan', () => {
  const layout = machineLayout('/run/vm', '/artifacts');

  test('one vhost-vsock-pci device with the CID, on the vsock PCI slot, and no daemon', () => {
    expect(planVsock('kernel', layout, undefined, 1234)).toEqual({
      kind: 'kernel',
      qemuArgs: ['-device', 'vhost-vsock-pci,guest-cid=1234,id=vsock0,addr=0x4'],
      daemon: undefined,
    });
  });

  test("user-space vsock gives the guest the user's CID, else 3", () => {
    expect(planVsock('user-space', layout, '/usr/bin/vhost-device-vsock', undefined).daemon?.args.slice(0, 2)).toEqual(['--guest-cid', '3']);
    expect(planVsock('user-space', layout, '/usr/bin/vhost-device-vsock', 77).daemon?.args.slice(0, 2)).toEqual(['--guest-cid', '77']);
  });

  test('socat: VSOCK addresses with the CID read at each connection, notices on, half-close kept open', () => {
    let cid = 1234;
    const addresses = vsockAddresses(() => cid);
    expect(addresses.listen(5000)).toBe('VSOCK-LISTEN:5000,fork');
    expect(addresses.connect(22)).toBe('VSOCK-CONNECT:1234:22');
    cid = 99;
    expect(addresses.connect(22)).toBe('VSOCK-CONNECT:99:22');
    expect(socatArguments('-', 'VSOCK-CONNECT:99:22')).toEqual(['-d', '-d', '-t3600', '-', 'VSOCK-CONNECT:99:22']);
  });

  test("socat's notices: listening, and errors of one process", () => {
    const log = [
      '2026/11/26 01:58:48 socat[100] N listening on AF=40 cid:4294967295 port:5000',
      '2026/11/26 01:58:49 socat[101] E connect(5, AF=40 cid:1234 port:22, 16): Connection reset by peer',
      '2026/11/26 01:58:49 socat[102] E connect(5, AF=40 cid:1234 port:23, 16): No such device',
    ].join('\n');
    expect(socatIsListening(log, 100)).toBe(true);
    expect(socatIsListening(log, 101)).toBe(false);
    expect(socatErrors(log, 101)).toBe('connect(5, AF=40 cid:1234 port:22, 16): Connection reset by peer');
    expect(socatErrors(log)).toContain('No such device');
  });
});

/**
 * The socat bridges with unix sockets standing in for the guest: "guest/P" is a guest port the host
 * connects to, "to-host_P" where the guest connects to host port P. The engine's side is exactly the
 * kernel transport's.
 */
describe('socat bridges (unix sockets in place of VSOCK addresses)', () => {
  let dir: string;
  let transport: KernelVsock;
  const servers: Server[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'socat-bridge-'));
    const socat = await findExecutable('socat');
    if (!socat) throw new Error('socat is not installed (scripts/setup-host.sh installs it)');
    transport = new KernelVsock({
      socat,
      udsPath: join(dir, 'vsock'),
      logFile: join(dir, 'socat.log'),
      pidFile: join(dir, 'pids'),
      addresses: { listen: (port) => `UNIX-LISTEN:${join(dir, `to-host_${port}`)},fork`, connect: (port) => `UNIX-CONNECT:${join(dir, `guest_${port}`)}` },
    });
  });

  afterAll(async () => {
    for (const server of servers) server.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A "guest port": answers each connection with the sha256 of what it received, once the client half-closed. */
  async function guestPort(port: number): Promise<void> {
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      const hash = createHash('sha256');
      socket.on('data', (chunk) => hash.update(chunk));
      socket.on('end', () => socket.end(hash.digest('hex')));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(join(dir, `guest_${port}`), resolve));
  }

  function readAll(stream: Duplex | Socket): Promise<string> {
    return new Promise((resolve, reject) => {
      let text = '';
      stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
      stream.once('end', () => resolve(text));
      stream.once('error', reject);
    });
  }

  test('a connection to a guest port carries 4 MiB each way intact and passes the half-close on', async () => {
    await guestPort(22);
    const stream = await transport.connect(22, { timeout: 5_000 });
    const payload = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7919) & 0xff;
    const reply = readAll(stream);
    stream.end(payload);
    expect(await reply).toBe(createHash('sha256').update(payload).digest('hex'));
  });

  test('a guest port nobody listens on fails with what socat said', async () => {
    await expect(transport.connect(23, { timeout: 5_000 })).rejects.toThrow(/^Cannot connect to guest vsock port 23: connect\(.*No such file or directory/);
  });

  test("the guest's connections to a host port arrive at the engine's listener, half-close included", async () => {
    const received: string[] = [];
    const listener = await transport.listen(5000, (socket) => {
      void readAll(socket).then((text) => {
        received.push(text);
        socket.end(`got ${text.length} bytes`);
      });
    });
    try {
      for (const message of ['READY=1', 'STATUS=second']) {
        const guest = createConnection({ path: join(dir, `to-host_5000`), allowHalfOpen: true });
        const reply = readAll(guest);
        guest.end(message);
        expect(await reply).toBe(`got ${message.length} bytes`);
      }
      expect(received).toEqual(['READY=1', 'STATUS=second']);
    } finally {
      await listener.close();
    }
    await expect(new Promise((resolve, reject) => createConnection(join(dir, 'to-host_5000')).once('connect', resolve).once('error', reject))).rejects.toThrow(/ENOENT|ECONNREFUSED/);
  });
});

test('debug mode under kernel vsock: ssh reaches the guest through socat and its CID', async () => {
  const vm = {
    name: 'vm',
    sshAccess: { clientPrivateKey: 'key\n', hostPublicKey: 'ssh-ed25519 AAAA host', vsockSocket: '/run/x/vsock', kernelVsockCid: 1234 },
  } as unknown as StartedMachine;
  const shell = await prepareDebugShell(vm);
  try {
    expect(await readFile(join(shell.directory, 'ssh_config'), 'utf8')).toContain('  ProxyCommand socat - VSOCK-CONNECT:1234:22\n');
  } finally {
    await rm(shell.directory, { recursive: true, force: true });
  }
});
