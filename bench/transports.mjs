// Boot-to-ready and the SSH exec round trip for each transport the host offers, side by side in one run:
// user-space vsock (vhost-device-vsock), no vsock (SSH over a private user-mode network), and kernel
// vsock where this user can open /dev/vhost-vsock (the engine's own check).
//   node bench/transports.mjs      (after `npm run build`)
//   BENCH_RUNS=3 BENCH_EXEC_ROUNDS=20 node bench/transports.mjs
// Prints medians; compare ratios within one run, not absolute numbers across machines.
import { probeVhostVsock } from '../dist/host/vsock-choice.js';
import { defaultImage, Machine } from '../dist/machine-api.js';

const runs = Number(process.env.BENCH_RUNS ?? 2);
const execRounds = Number(process.env.BENCH_EXEC_ROUNDS ?? 20);
const image = await defaultImage();

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};
const seconds = (ms) => (ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(1)} s`);

// Kernel vsock only where this user can open /dev/vhost-vsock, as the engine's 'auto' decides.
const vhostVsock = await probeVhostVsock();
const transports = {
  ...(vhostVsock.usable ? { 'kernel vsock': { vsock: 'kernel' } } : {}),
  'user-space vsock': { vsock: 'user-space' },
  'no vsock': { vsock: false },
};
const kernelNote = vhostVsock.usable ? undefined : `kernel vsock: not measured, ${vhostVsock.detail}`;

const results = Object.fromEntries(Object.keys(transports).map((name) => [name, { ready: [], ssh: [], start: [], exec: [] }]));
const names = Object.keys(transports);
for (let run = 0; run < runs; run++) {
  // Alternate the order so that neither always boots on a warmer machine.
  for (const name of run % 2 === 0 ? names : [...names].reverse()) {
    const started = performance.now();
    const vm = await new Machine({ ...image.initramfs, ...transports[name], name: 'bench-transports' }).start();
    const { readyAfterMs, sshReadyAfterMs } = vm.summary;
    results[name].start.push(performance.now() - started);
    results[name].ready.push(readyAfterMs);
    results[name].ssh.push(sshReadyAfterMs);
    for (let i = 0; i < execRounds; i++) {
      const began = performance.now();
      await vm.exec('true');
      results[name].exec.push(performance.now() - began);
    }
    await vm.stop();
  }
}

console.log(`transports: ${runs} boot(s) each, ${execRounds} execs of \`true\` per boot, default image (initramfs), 1 CPU`);
console.log('transport          start() resolved   ready (after QEMU start)   SSH first handshake   exec round trip');
for (const name of names) {
  const r = results[name];
  console.log(
    `${name.padEnd(18)} ${seconds(median(r.start)).padStart(16)}   ${seconds(median(r.ready)).padStart(24)}   ${seconds(median(r.ssh)).padStart(19)}   ${`${median(r.exec).toFixed(0)} ms`.padStart(15)}`,
  );
}
if (kernelNote) console.log(kernelNote);
console.log('ready: READY=1 over notify with vsock; systemctl is-system-running --wait over SSH without it.');
