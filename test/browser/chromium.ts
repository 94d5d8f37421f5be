// Launches the Chromium that the global setup (chromium-setup.ts) found, with Chromium's own
// defaults: the packaged Chromium's recommended flags are for serverless hosts (--single-process
// crashed parallel contexts, and they turn web security off), so none of them are passed.
import { type Browser, chromium } from 'playwright-core';
import { inject } from 'vitest';

export function launchChromium(): Promise<Browser> {
  const { executablePath, fontconfigFile, problem } = inject('chromium');
  if (problem !== undefined) throw new Error(`no Chromium for the browser test: ${problem}`);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  // Under LANG=C (usual on CI machines) Chromium reports the language "en-US@posix", which
  // Intl.NumberFormat rejects; one fixed locale also keeps screenshots alike everywhere.
  env.LANG = 'en_US.UTF-8';
  env.LC_ALL = 'en_US.UTF-8';
  if (fontconfigFile !== undefined) env.FONTCONFIG_FILE = fontconfigFile;
  return chromium.launch({ executablePath, args: [], env });
}
