import { hostDirectory, restrictedFiles } from '@eryx/vfs-core';
import type { WasiHostOptions } from '@eryx/vfs-core/wasi';
import { memory } from '@eryx/vfs-memory';

/** A sandbox: its own files, a scratch host directory, a read-only dataset and one config file. */
export function sandbox(host: { scratch: string; dataset: string; config: string }): WasiHostOptions {
  return {
    mounts: {
      '/data': memory(),
      '/scratch': hostDirectory(host.scratch),
      '/datasets/public': hostDirectory(host.dataset, { readOnly: true }),
      '/etc': restrictedFiles({ 'app.conf': host.config }, { readOnly: true }),
    },
  };
}
// createWasiHost(sandbox({ scratch, dataset, config })) gives the guest one tree:
// `/` lists data, datasets, etc and scratch; `/datasets` lists public; `/etc` lists app.conf.
