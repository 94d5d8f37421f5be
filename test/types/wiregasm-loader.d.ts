// The Emscripten loader of @goodtools/wiregasm ships without types; it is the package's
// WiregasmLoader (dist/types.d.ts).
declare module '@goodtools/wiregasm/dist/wiregasm.js' {
  import type { WiregasmLoader } from '@goodtools/wiregasm';

  const loader: WiregasmLoader;
  export default loader;
}
