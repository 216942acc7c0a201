// Data path figures for the default image: exec output throughput, raw vsock stream throughput,
// and many commands at once against the same commands one after another, on one machine.
//   node bench/data-path.mjs       (after `npm run build`; `npm run bench` runs it after boot.mjs)
//   BENCH_RUNS=5 BENCH_MIB=32 node bench/data-path.mjs
// Prints medians; compare ratios within one run, not absolute numbers across machines.
import { randomBytes } from 'node:crypto';
import { defaultImage, Machine } from '../dist/machine-api.js';
import { echoThrough } from './echo.mjs';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const mib = Number(process.env.BENCH_MIB ?? 64);
const MiB = 1024 * 1024;
const image = await defaultImage();

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
const seconds = async (action) => {
  const started = performance.now();
  await action();
  return (performance.now() - started) / 1000;
};

const vm = await new Machine({
  ...image.initramfs,
  name: 'bench-data',
  setCredential: {
    'systemd.extra-unit.echo.socket': '[Socket]\nListenStream=vsock::5000\nAccept=yes\n',
    'systemd.extra-unit.echo@.service': '[Service]\nExecStart=/usr/bin/cat\nStandardInput=socket\n',
  },
}).start();
await vm.exec(`head -c ${mib * MiB} /dev/urandom | base64 -w 76 | head -c ${mib * MiB} > /tmp/out; head -c ${MiB} /tmp/out > /tmp/one`);
await vm.exec('systemctl start echo.socket');

const figures = { exec: [], connect: [], concurrent: [], sequential: [] };
for (let run = 0; run < runs; run++) {
  figures.exec.push(mib / (await seconds(() => vm.exec('cat /tmp/out'))));
  figures.connect.push(mib / (await seconds(async () => echoThrough(await vm.connect(5000), randomBytes(mib * MiB)))));
  // Alternate the order, so that neither always runs on a warmer machine.
  const pair = [
    ['concurrent', () => Promise.all(Array.from({ length: 20 }, () => vm.exec('cat /tmp/one')))],
    ['sequential', async () => { for (let i = 0; i < 20; i++) await vm.exec('cat /tmp/one'); }],
  ];
  for (const [name, action] of run % 2 === 0 ? pair : pair.reverse()) figures[name].push(await seconds(action));
}
await vm.stop();


const row = (label, value) => console.log(`${label.padEnd(52)} ${value}`);
console.log(`vitest-vmspawn data path benchmark: ${runs} run(s), ${vm.accelerator.toUpperCase()}, ${mib} MiB transfers, medians\n`);
row('exec stdout throughput, MiB/s', median(figures.exec).toFixed(1));
row('connect() echo throughput, MiB/s each way', median(figures.connect).toFixed(1));
row('20 × 1 MiB exec at once, s', median(figures.concurrent).toFixed(2));
row('20 × 1 MiB exec one after another, s', median(figures.sequential).toFixed(2));
row('ratio at once / one after another', (median(figures.concurrent) / median(figures.sequential)).toFixed(2));
