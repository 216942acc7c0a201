/** How a test's machine options combine with the project's defaults. */
import type { MachineOptions } from '../options/machine-options.js';

/** Later options win key by key; credential maps are merged name by name. */
export function mergeMachineOptions(...layers: MachineOptions[]): MachineOptions {
  const merged: MachineOptions = {};
  for (const layer of layers) {
    const { setCredential, loadCredential } = merged;
    Object.assign(merged, layer);
    if (setCredential || layer.setCredential) merged.setCredential = { ...setCredential, ...layer.setCredential };
    if (loadCredential || layer.loadCredential) merged.loadCredential = { ...loadCredential, ...layer.loadCredential };
  }
  return merged;
}
