/**
 * Runs once per vitest run, in the main process (registered by the vmspawn() plugin): prints the
 * run's host decisions and concurrency, kills and deletes what machines of a killed earlier run
 * left behind and finishes their artifacts, gives each shard of a sharded run its own artifacts
 * root, and builds the default image if the cache has none, printing progress.
 */
import type { TestProject } from 'vitest/node';
import { defaultImage } from '../image/default-image.js';
import { reapAbandonedMachines } from '../machine/abandoned-machines.js';
import { shardArtifactsRoot } from './artifact-names.js';
import { PROVIDED_CONFIG_KEY, PROVIDED_IMAGE_KEY, type ProvidedVmspawnConfig } from './config.js';
import { failRunInSetup } from './setup-failure.js';
import { printOnce, PROVIDED_RUN_KEY, runLines, type RunAnnouncements } from './run-announcements.js';

export default async function setup(project: TestProject): Promise<void> {
  const reaped = await reapAbandonedMachines();
  if (reaped.length > 0) process.stderr.write(`vitest-vmspawn: cleaned up ${reaped.length} machine(s) left by an earlier run\n`);
  const run = project.config.provide?.[PROVIDED_RUN_KEY] as RunAnnouncements | undefined;
  if (run) printOnce(runLines(run, project.config.maxWorkers));
  const config = project.config.provide?.[PROVIDED_CONFIG_KEY] as ProvidedVmspawnConfig | undefined;
  const { shard } = project.vitest.config;
  if (config && shard) project.provide(PROVIDED_CONFIG_KEY, { ...config, artifactsDir: shardArtifactsRoot(config.artifactsDir, shard) });
  if (config?.prepareDefaultImage) {
    const image = await defaultImage().catch((error: unknown) => failRunInSetup(project, error));
    const { manifest } = image;
    process.stderr.write(
      `vitest-vmspawn: default image: Debian ${manifest.debian}, kernel ${manifest.kernel.release}, systemd ${manifest.packages.systemd} (${image.directory})\n`,
    );
    project.provide(PROVIDED_IMAGE_KEY, image);
  }
}
