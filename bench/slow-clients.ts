// Placeholder replaced below.
import type { BenchOptions } from './lib/options.js';
export async function runSlowClients(_options: BenchOptions, _dir: string): Promise<string> {
  return 'slow-clients: not yet';
}
