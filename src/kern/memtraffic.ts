// The memory traffic model: how many bytes the CPU and the NIC's DMA move through memory to send
// one body byte, the figure Netflix reasons with for its KTLS servers. Each copy reads its source
// and writes its destination (one read + one write per byte); an encryption pass reads plaintext
// and writes ciphertext; the NIC reads every byte it sends once by DMA; encryption on the NIC
// (KTLS ifnet) happens in the card, adding no memory traffic. Caches are ignored (XXX(sim): a real
// CPU may hit in cache for small buffers; the model counts bytes as if every pass goes to DRAM).

/** What the kernel counted, in bytes. */
export interface MemoryTrafficInputs {
  /** read(2): page cache -> user buffer. */
  readonly copyOutBytes: number;
  /** write(2): user buffer -> kernel memory (clusters, or a KTLS socket's pages). */
  readonly copyInBytes: number;
  /** KTLS software mode: plaintext pages -> ciphertext pages. */
  readonly swEncryptBytes: number;
  /** KTLS ifnet mode: encrypted by the NIC as it reads (no CPU pass). */
  readonly nicEncryptBytes: number;
  /** Every byte handed to the NIC (TCP's output). */
  readonly wireBytes: number;
  /** User space's own passes outside the kernel (OpenSSL's encryption), when a caller knows them. */
  readonly userEncryptBytes?: number;
}

export interface MemoryTraffic {
  readonly cpu_read_bytes: number;
  readonly cpu_write_bytes: number;
  readonly dma_read_bytes: number;
  readonly nic_encrypt_bytes: number;
}

/** One read and one write per byte for each CPU pass; one DMA read per wire byte. */
export function memoryTraffic(c: MemoryTrafficInputs): MemoryTraffic {
  const cpuPassBytes = c.copyOutBytes + c.copyInBytes + c.swEncryptBytes + (c.userEncryptBytes ?? 0);
  return {
    cpu_read_bytes: cpuPassBytes,
    cpu_write_bytes: cpuPassBytes,
    dma_read_bytes: c.wireBytes,
    nic_encrypt_bytes: c.nicEncryptBytes,
  };
}

/** The model per body byte, per way of sending (the README's table): CPU reads, CPU writes, DMA reads. */
export const MEMORY_TRAFFIC_PER_BYTE = {
  sendfile: { cpu_read: 0, cpu_write: 0, dma_read: 1 },
  'sendfile+ktls-ifnet': { cpu_read: 0, cpu_write: 0, dma_read: 1 },
  'sendfile+ktls-sw': { cpu_read: 1, cpu_write: 1, dma_read: 1 },
  'read+write': { cpu_read: 2, cpu_write: 2, dma_read: 1 },
  'read+SSL_write+write': { cpu_read: 3, cpu_write: 3, dma_read: 1 },
} as const;
