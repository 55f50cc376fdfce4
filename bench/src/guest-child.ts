import { type GuestChildRequest, runGuestTarget } from './guest/children.js';

// One measurement of the guest-level bench in a fresh process (see runGuestBench).
await runGuestTarget(JSON.parse(process.argv[2] ?? '{}') as GuestChildRequest);
