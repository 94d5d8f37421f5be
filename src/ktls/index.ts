// src/ktls: kernel TLS, the send side (sys/kern/uipc_ktls.c, sys/sys/ktls.h, ktls(4)): sessions
// set with setsockopt(TCP_TXTLS_ENABLE), records framed into M_EXTPG mbufs, encrypted by per-CPU
// workers (software mode) or by the simulated NIC (ifnet mode). Imports kern, vm, mbuf and net.

export * from './constants.js';
export type { KtlsCounterCells } from './env.js';
export { type KtlsConfig, type KtlsEnableOptions, KtlsLayer } from './layer.js';
export type { KtlsRexmit } from './nic.js';
export { type KtlsCryptoDriver, type KtlsOcfSession, ktlsOcfSessionNew } from './ocf.js';
export { osslBinding, osslWhy } from './ossl.js';
export { tls13Nonce, tls13Seal, tls13SealRuns, tlsRecordHeader } from './record.js';
export { type KtlsParams, KtlsSession, type TlsEnable } from './session.js';
