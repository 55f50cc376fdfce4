import { type GuestChildRequest, runGuestTarget } from './guest.js';

// One measurement of the guest-level bench in a fresh process (see runGuestBench).
await runGuestTarget(JSON.parse(process.argv[2] ?? '{}') as GuestChildRequest);
