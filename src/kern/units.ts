// Sizes and their units. Names we invent carry their unit last (sizeBytes, pageCount).

export const PAGE_SHIFT = 12;
/** PAGE_SIZE on amd64, i386 and arm: 4096 bytes. */
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_MASK = PAGE_SIZE - 1;
export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Pages needed to hold `bytes` (ceiling). */
export function pagesCeil(bytes: number): number {
  return Math.ceil(bytes / PAGE_SIZE);
}

/** Page index holding byte `offsetBytes` (floor). */
export function pageIndexOf(offsetBytes: number): number {
  return Math.floor(offsetBytes / PAGE_SIZE);
}

/**
 * Parses a size such as `64M`, `512k`, `2G`, `4096` (bytes). Suffixes are binary (K = 1024).
 * Returns null for anything that is not a non-negative whole size.
 */
export function parseSizeBytes(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgKMG]?)(?:i?[bB])?\s*$/.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toUpperCase();
  const scale = unit === 'K' ? KiB : unit === 'M' ? MiB : unit === 'G' ? GiB : 1;
  const bytes = Math.round(n * scale);
  return Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : null;
}

/** 1536 -> "1.5 KiB": for people, never parsed back. */
export function formatBytes(bytes: number): string {
  if (bytes < KiB) return `${bytes} B`;
  if (bytes < MiB) return `${trim(bytes / KiB)} KiB`;
  if (bytes < GiB) return `${trim(bytes / MiB)} MiB`;
  return `${trim(bytes / GiB)} GiB`;
}

function trim(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}
