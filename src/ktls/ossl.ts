// The ossl crypto driver: a small native module (native/ossl.c) over the OpenSSL that Node
// carries, built at install when a C compiler and Node's headers are present. Without it, KTLS
// seals with node:crypto (ocf.ts says how); ZCSIM_KTLS_CRYPTO=node-crypto chooses that on purpose.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** What native/ossl.c exports. */
export interface OsslBinding {
  /** An AEAD context keyed once (an opaque handle, freed with it). */
  newSession(cipherName: string, key: Uint8Array): object;
  /** One record's AEAD from `src` into `dst` (same total length); the type and tag into `trail`. */
  seal(
    session: object,
    nonce: Uint8Array,
    aad: Uint8Array,
    src: readonly Uint8Array[],
    dst: readonly Uint8Array[],
    innerType: number,
    trail: Uint8Array,
  ): number;
}

/** The module's place from src/ktls (tests) and from dist/src/ktls (the build). */
const CANDIDATES = ['../../build/ossl.node', '../../../build/ossl.node'];

/** Why the last build made no module, as native/build.mjs recorded it beside the module. */
function buildStatus(): string {
  for (const rel of CANDIDATES) {
    try {
      const status = JSON.parse(
        readFileSync(fileURLToPath(new URL(rel.replace('.node', '.json'), import.meta.url)), 'utf8'),
      );
      if (typeof status?.why === 'string') return status.why;
    } catch {
      // Not there: the other candidate, or no build yet.
    }
  }
  return 'no build yet (npm run build:native)';
}

let loaded: { binding: OsslBinding | null; why: string } | undefined;

function load(env: NodeJS.ProcessEnv): { binding: OsslBinding | null; why: string } {
  if (env.ZCSIM_KTLS_CRYPTO === 'node-crypto') return { binding: null, why: 'ZCSIM_KTLS_CRYPTO=node-crypto' };
  const path = CANDIDATES.map((rel) => fileURLToPath(new URL(rel, import.meta.url))).find((p) =>
    existsSync(p),
  );
  if (path === undefined) return { binding: null, why: `build/ossl.node not built: ${buildStatus()}` };
  try {
    return { binding: createRequire(import.meta.url)(path) as OsslBinding, why: path };
  } catch (e) {
    return { binding: null, why: `build/ossl.node did not load: ${(e as Error).message}` };
  }
}

/** The native driver, or null with the reason in osslWhy(). Loaded once per process. */
export function osslBinding(env: NodeJS.ProcessEnv = process.env): OsslBinding | null {
  loaded ??= load(env);
  return loaded.binding;
}

/** Where the driver was loaded from, or why it was not. */
export function osslWhy(): string {
  osslBinding();
  return loaded!.why;
}
