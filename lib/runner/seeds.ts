/** Seeds are fixed per direction so a stale pattern from the other is caught. */
export const SEED_KERNEL = 0x6b65726e; // "kern"
export const SEED_USER = 0x75736572; // "user"
export const SEED_DEVICE = 0x64657663; // "devc"
