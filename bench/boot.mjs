// Boot and exec figures for the default image, measured side by side in one run.
//   node bench/boot.mjs            (after `npm run build`; `npm run bench` does both)
//   BENCH_RUNS=5 node bench/boot.mjs
// Prints medians; compare ratios within one run, not absolute numbers across machines.
import { readFileSync } from 'node:fs';
import { defaultImage, Machine } from '../dist/machine-api.js';
import { generateMachineKeys } from '../dist/ssh/keys.js';
import { SshSession } from '../dist/ssh/ssh-session.js';

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

async function bootOnce(flavour) {
  const started = performance.now();
  const vm = await new Machine({ ...image[flavour], name: `bench-${flavour}` }).start();
  const startMs = performance.now() - started;
  const { readyAfterMs, sshReadyAfterMs, processes } = vm.summary;
  const memory = { qemu: rssMiB(processes.qemu), vsockDaemon: rssMiB(processes.vsockDaemon) };
  return { vm, startMs, readyAfterMs, sshReadyAfterMs, memory };
}

const boots = { initramfs: [], disk: [] };
let execFigures;
for (let run = 0; run < runs; run++) {
  // Alternate the order so neither flavour always runs on a warmer machine.
  for (const flavour of run % 2 === 0 ? ['initramfs', 'disk'] : ['disk', 'initramfs']) {
    const boot = await bootOnce(flavour);
    boots[flavour].push(boot);
    if (flavour === 'initramfs' && !execFigures) execFigures = await measureExec(boot.vm);
    await boot.vm.stop();
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
    await SshSession.open(stream, { keys: generateMachineKeys('bench'), timeout: 30_000 }).catch(() => undefined);
    connection.push(performance.now() - started);
  }
  return { channel: median(channel), connection: median(connection) };
}

const row = (label, values) => console.log(`${label.padEnd(44)} ${values.join('   ')}`);
console.log(`vitest-vmspawn boot benchmark: ${runs} run(s) per flavour, ${boots.initramfs[0].vm.accelerator.toUpperCase()}`);
console.log(`image: Debian ${image.manifest.debian}, kernel ${image.manifest.kernel.release}, systemd ${image.manifest.packages.systemd}\n`);
row('', ['initramfs'.padStart(10), 'disk'.padStart(10), 'disk/initramfs']);
for (const [label, pick] of [
  ['start() until SSH answered (median)', (b) => b.startMs],
  ['QEMU start → READY=1 (median)', (b) => b.readyAfterMs],
  ['QEMU start → first SSH handshake (median)', (b) => b.sshReadyAfterMs],
  ['QEMU resident memory at ready, MiB (median)', (b) => b.memory.qemu],
  ['vhost-device-vsock resident memory, MiB', (b) => b.memory.vsockDaemon],
]) {
  const a = median(boots.initramfs.map(pick));
  const b = median(boots.disk.map(pick));
  row(label, [a.toFixed(0).padStart(10), b.toFixed(0).padStart(10), (b / a).toFixed(2).padStart(14)]);
}
console.log('');
row('exec round trip on the shared connection', [ms(execFigures.channel)]);
row('new SSH connection (handshake + auth)', [ms(execFigures.connection)]);
row('ratio new connection / shared connection', [(execFigures.connection / execFigures.channel).toFixed(1)]);
