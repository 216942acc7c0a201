// Boot to ready on each boot path, side by side in one run: the default image booted directly
// (initramfs and disk), the UEFI image through UEFI firmware (systemd-boot into its UKI and into its
// Type #1 entry, and its UKI given as linux), and the default image's tree over virtiofs.
//   node bench/boot-paths.mjs          (after `npm run build`; `npm run bench` runs it too)
//   BENCH_RUNS=3 node bench/boot-paths.mjs
// One machine at a time, the order rotated each run. Prints medians and ratios to the first column;
// compare ratios within one run, not absolute numbers across machines.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultImage, Machine, uefiImage } from '../dist/machine-api.js';

const runs = Number(process.env.BENCH_RUNS ?? 1);
const [image, uefi] = [await defaultImage(), await uefiImage()];

// The default image's root as a directory tree, unpacked from its initramfs.
const tree = mkdtempSync(join(tmpdir(), 'vmspawn-bench-tree-'));
execFileSync('sh', ['-c', `zstd -dc '${image.directory}/rootfs.cpio.zst' | (cd '${tree}' && cpio -id --quiet)`]);

const root = `root=PARTUUID=${uefi.manifest.partitions.root.partuuid}`;
const variants = {
  'direct, initramfs': { ...image.initramfs },
  'direct, disk': { ...image.disk },
  'UEFI disk, UKI entry': { image: uefi.disk },
  'UEFI disk, Type #1 entry': { image: uefi.diskType1 },
  'UKI as linux': { linux: uefi.uki, image: uefi.disk, kernelArgs: [root] },
  'directory (virtiofs)': { directory: tree, linux: image.initramfs.linux },
};

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
const names = Object.keys(variants);
const figures = Object.fromEntries(names.map((name) => [name, []]));
try {
  for (let run = 0; run < runs; run++) {
    for (const name of names.map((_, index) => names[(index + run) % names.length])) {
      const started = performance.now();
      const vm = await new Machine({ ...variants[name], name: 'bench' }).start();
      const startMs = performance.now() - started;
      figures[name].push({ startMs, readyMs: vm.summary.readyAfterMs, sshMs: vm.summary.sshReadyAfterMs, path: vm.summary.boot.path });
      await vm.stop();
    }
  }
} finally {
  rmSync(tree, { recursive: true, force: true });
}

const first = names[0];
console.log(`vitest-vmspawn boot paths: ${runs} run(s) each, one machine at a time, 1 vCPU, 1 GiB\n`);
console.log(`${'median'.padEnd(28)} ${'path'.padEnd(14)} ${'READY=1 ms'.padStart(11)} ${'SSH ms'.padStart(9)} ${'start() ms'.padStart(11)} ${'ratio SSH'.padStart(10)}`);
const reference = median(figures[first].map((figure) => figure.sshMs));
for (const name of names) {
  const pick = (key) => median(figures[name].map((figure) => figure[key]));
  console.log(
    `${name.padEnd(28)} ${figures[name][0].path.padEnd(14)} ${pick('readyMs').toFixed(0).padStart(11)} ${pick('sshMs').toFixed(0).padStart(9)} ` +
      `${pick('startMs').toFixed(0).padStart(11)} ${(pick('sshMs') / reference).toFixed(2).padStart(10)}`,
  );
}
