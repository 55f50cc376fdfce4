import { formatTraceEvent, trace, type VfsStorage } from '@eryx/vfs-core';
import type { CliIo } from './context.js';

/**
 * `--verbose`: `storage` traced, one stderr line per storage call with the store it went to,
 * e.g. `eryx-vfs: sqlite:./state.db#user-42: stat /notes.txt 0.21 ms ok`. The label is the URL
 * with its password redacted and its query left out (it can be long and hold no secret worth showing).
 */
export function traceStorage(storage: VfsStorage, href: string, stderr: CliIo['stderr']): VfsStorage {
  const label = href.replace(/\?[^#]*/, '');
  return trace(storage, {
    onCall: (event) => {
      stderr.write(`eryx-vfs: ${label}: ${formatTraceEvent(event)}\n`);
    },
  });
}
