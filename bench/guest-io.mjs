// Talking to the guest, measured on one machine of the default image: copyTo/copyFrom over SFTP,
// and a stream through forwardPort to a guest TCP echo service. (No raw vsock echo beside it: an
// echo through connect() under CPU load can stall, see "User-space vsock" in the README.)
//   node bench/guest-io.mjs       (after `npm run build`)
//   BENCH_RUNS=5 BENCH_MIB=64 node bench/guest-io.mjs
// Prints medians; compare ratios within one run, not absolute numbers across machines.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultImage, Machine } from '../dist/machine-api.js';
import { echoThrough } from './echo.mjs';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const mib = Number(process.env.BENCH_MIB ?? 32);
const MiB = 1024 * 1024;
const image = await defaultImage();
const sha256 = (data) => createHash('sha256').update(data).digest('hex');

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
const seconds = async (action) => {
  const started = performance.now();
  await action();
  return (performance.now() - started) / 1000;
};

const dir = await mkdtemp(join(tmpdir(), 'vmspawn-bench-guest-io-'));
const vm = await new Machine({
  ...image.initramfs,
  name: 'bench-guest-io',
  setCredential: {
    'systemd.extra-unit.tcp-echo.socket': '[Socket]\nListenStream=127.0.0.1:7000\nAccept=yes\n',
    'systemd.extra-unit.tcp-echo@.service': '[Service]\nExecStart=/usr/bin/cat\nStandardInput=socket\n',
  },
}).start();
try {
  await vm.exec('systemctl start tcp-echo.socket');
  const payload = randomBytes(mib * MiB);
  await writeFile(join(dir, 'up.bin'), payload);
  const forward = await vm.forwardPort(7000);

  const figures = { copyTo: [], copyFrom: [], forward: [] };
  for (let run = 0; run < runs; run++) {
    figures.copyTo.push(mib / (await seconds(() => vm.copyTo(join(dir, 'up.bin'), '/root/up.bin'))));
    figures.copyFrom.push(mib / (await seconds(() => vm.copyFrom('/root/up.bin', join(dir, 'down.bin')))));
    if (sha256(await readFile(join(dir, 'down.bin'))) !== sha256(payload)) throw new Error('the copy came back corrupted');
    figures.forward.push(mib / (await seconds(() => echoThrough(connect({ host: '127.0.0.1', port: forward.port }), payload))));
  }
  await forward.close();

  const row = (label, value) => console.log(`${label.padEnd(52)} ${value}`);
  console.log(`vitest-vmspawn guest I/O benchmark: ${runs} run(s), ${vm.accelerator.toUpperCase()}, ${mib} MiB transfers, medians\n`);
  row('copyTo (SFTP), MiB/s', median(figures.copyTo).toFixed(1));
  row('copyFrom (SFTP), MiB/s', median(figures.copyFrom).toFixed(1));
  row('forwardPort echo, MiB/s each way', median(figures.forward).toFixed(1));
} finally {
  await vm.stop();
  await rm(dir, { recursive: true, force: true });
}

