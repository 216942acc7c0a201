// Boot and exec figures for the default image, measured side by side in one run.
//   node bench/boot.mjs            (after `npm run build`; `npm run bench` does both)
//   BENCH_RUNS=5 node bench/boot.mjs
// Prints medians; compare ratios within one run, not absolute numbers across machines.
import { readFileSync } from 'node:fs';
import { defaultImage, Machine } from '../dist/machine-api.js';
import { generateMachineKeys } from '../dist/ssh/keys.js';
import { SshConnection } from '../dist/ssh/ssh-connection.js';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const execRounds = Number(process.env.BENCH_EXEC_ROUNDS ?? 50);
const image = await defaultImage();

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};
const rssMiB = (pid) => {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
};
const ms = (value) => `${value.toFixed(0)} ms`;

// Each variant against the first (the defaults): the disk flavour, and two virtual CPUs.
const variants = {
  'initramfs, 1 CPU': { ...image.initramfs },
  'disk, 1 CPU': { ...image.disk },
  'initramfs, 2 CPUs': { ...image.initramfs, cpus: 2 },
};

async function bootOnce(options) {
  const started = performance.now();
  const vm = await new Machine({ ...options, name: 'bench' }).start();
  const startMs = performance.now() - started;
  const { readyAfterMs, sshReadyAfterMs, processes } = vm.summary;
  const memory = { qemu: rssMiB(processes.qemu), vsockDaemon: rssMiB(processes['vhost-device-vsock']) };
  return { vm, startMs, readyAfterMs, sshReadyAfterMs, memory };
}

const names = Object.keys(variants);
const boots = Object.fromEntries(names.map((name) => [name, []]));
let execFigures;
for (let run = 0; run < runs; run++) {
  // Rotate the order so that no variant always runs on a warmer machine.
  for (const name of names.map((_, index) => names[(index + run) % names.length])) {
    const boot = await bootOnce(variants[name]);
    boots[name].push(boot);
    if (!execFigures) execFigures = await measureExec(boot.vm);
    await boot.vm.stop();
  }
}

// Two machines booted at once, as two vitest workers do: one CPU each against two CPUs each.
const parallel = { '1 CPU each': [], '2 CPUs each': [] };
for (let run = 0; run < runs; run++) {
  for (const [label, cpus] of run % 2 === 0 ? [['1 CPU each', 1], ['2 CPUs each', 2]] : [['2 CPUs each', 2], ['1 CPU each', 1]]) {
    const pair = await Promise.all([bootOnce({ ...image.initramfs, cpus }), bootOnce({ ...image.initramfs, cpus })]);
    parallel[label].push(...pair.map((boot) => boot.readyAfterMs));
    await Promise.all(pair.map((boot) => boot.vm.stop()));
  }
}

async function measureExec(vm) {
  const channel = [];
  for (let i = 0; i < execRounds; i++) {
    const started = performance.now();
    await vm.exec('true');
    channel.push(performance.now() - started);
  }
  // What a new SSH connection per command would cost: vsock stream, key exchange, auth, one exec.
  // The guest accepts only the key it was booted with, so this replays the handshake with a fresh
  // key pair and counts until the server's answer to authentication, which comes after the expensive part.
  const connection = [];
  for (let i = 0; i < Math.min(5, execRounds); i++) {
    const started = performance.now();
    const stream = await vm.connect(22);
    await SshConnection.open(stream, { keys: generateMachineKeys('bench'), timeout: 30_000 }).catch(() => undefined);
    connection.push(performance.now() - started);
  }
  return { channel: median(channel), connection: median(connection) };
}

const row = (label, values) => console.log(`${label.padEnd(44)} ${values.join('  ')}`);
const [reference, ...others] = names;
console.log(`vitest-vmspawn boot benchmark: ${runs} run(s) per variant, ${boots[reference][0].vm.accelerator.toUpperCase()}, one machine at a time`);
console.log(`image: Debian ${image.manifest.debian}, kernel ${image.manifest.kernel.release}, systemd ${image.manifest.packages.systemd}\n`);
row('median; ratio = variant / first column', [...names.map((name) => name.padStart(18)), ...others.map((name) => `ratio ${name}`.padStart(24))]);
for (const [label, pick] of [
  ['start() until SSH answered, ms', (b) => b.startMs],
  ['QEMU start → READY=1, ms', (b) => b.readyAfterMs],
  ['QEMU start → first SSH handshake, ms', (b) => b.sshReadyAfterMs],
  ['QEMU resident memory at ready, MiB', (b) => b.memory.qemu],
  ['vhost-device-vsock resident memory, MiB', (b) => b.memory.vsockDaemon],
]) {
  const values = names.map((name) => median(boots[name].map(pick)));
  row(label, [...values.map((value) => value.toFixed(0).padStart(18)), ...values.slice(1).map((value) => (value / values[0]).toFixed(2).padStart(24))]);
}
console.log('');
const [one, two] = [median(parallel['1 CPU each']), median(parallel['2 CPUs each'])];
row('two machines at once, QEMU start → READY=1', [`1 CPU each ${ms(one)}`, `2 CPUs each ${ms(two)}`, `ratio ${(two / one).toFixed(2)}`]);
console.log('');
row('exec round trip on the shared connection', [ms(execFigures.channel)]);
row('new SSH connection (handshake + auth)', [ms(execFigures.connection)]);
row('ratio new connection / shared connection', [(execFigures.connection / execFigures.channel).toFixed(1)]);
