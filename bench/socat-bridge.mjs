// What kernel vsock's host side costs per connection: socat is spawned for every connection to a
// guest port. Measured without a guest and without AF_VSOCK: the transport's socat bridge with a
// unix socket in place of VSOCK-CONNECT, against a direct unix connection. Run after a build:
//   node bench/socat-bridge.mjs
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable } from '../dist/host/tools.js';
import { KernelVsock } from '../dist/transport/kernel-vsock.js';
import { echoThrough } from './echo.mjs';

const ROUNDS = 50;
const MiB = 1024 * 1024;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const dir = await mkdtemp(join(tmpdir(), 'socat-bridge-bench-'));
try {
  const socat = await findExecutable('socat');
  if (!socat) throw new Error('socat is not installed');
  const guestPort = join(dir, 'guest_22');
  const server = createServer((socket) => socket.pipe(socket));
  await new Promise((resolve) => server.listen(guestPort, resolve));
  const transport = new KernelVsock({
    socat,
    udsPath: join(dir, 'vsock'),
    logFile: join(dir, 'socat.log'),
    pidFile: join(dir, 'pids'),
    addresses: { listen: () => 'unused', connect: () => `UNIX-CONNECT:${guestPort}` },
  });
  const roundTrip = (stream) =>
    new Promise((resolve, reject) => {
      stream.once('data', resolve);
      stream.once('error', reject);
      stream.write('x');
    });

  const timings = { direct: [], socat: [] };
  for (let i = 0; i < ROUNDS; i++) {
    let started = performance.now();
    const direct = createConnection(guestPort);
    await roundTrip(direct);
    timings.direct.push(performance.now() - started);
    direct.destroy();

    started = performance.now();
    const bridged = await transport.connect(22);
    await roundTrip(bridged);
    timings.socat.push(performance.now() - started);
    bridged.destroy();
  }
  const payload = Buffer.alloc(64 * MiB, 7);
  let started = performance.now();
  await echoThrough(createConnection(guestPort), payload);
  const directMiBs = 64 / ((performance.now() - started) / 1000);
  started = performance.now();
  await echoThrough(await transport.connect(22), payload);
  const socatMiBs = 64 / ((performance.now() - started) / 1000);
  server.close();
  console.log(`connect + first round trip, median of ${ROUNDS}: direct unix socket ${median(timings.direct).toFixed(2)} ms, through a spawned socat ${median(timings.socat).toFixed(2)} ms`);
  console.log(`64 MiB echoed: direct ${directMiBs.toFixed(0)} MiB/s, through socat ${socatMiBs.toFixed(0)} MiB/s`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
