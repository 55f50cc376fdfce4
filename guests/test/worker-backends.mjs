// Factories the sync bridge's worker imports (it needs plain JavaScript and structured-clonable
// options). S3 has no native quota, so the ENOSPC test puts core's limits wrapper in front of it.
import { limits } from '@eryx/vfs-core';
import { s3 } from '@eryx/vfs-s3';

/** `s3(options)`, wrapped in `limits(...)` when `options.limits` is given. */
export function limitedS3({ limits: max, ...options }) {
  const storage = s3(options);
  return max ? limits(storage, max) : storage;
}
