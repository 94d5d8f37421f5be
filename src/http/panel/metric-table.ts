// The catalogue of /metrics: for each kernel counter of /stats, its Prometheus name (snake_case,
// unit last, `_total` on counters), its type (counter when it only grows, gauge when it is a
// level) and HELP text saying what the kernel counts, with the kernel's own name in parentheses.
// Zones, routes and errnos become labels (metrics.ts).

export interface KernelMetric {
  /** Where the value is in /stats `kernel`: section, then key. */
  readonly section: string;
  readonly key: string;
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
}

const c = (section: string, key: string, name: string, help: string): KernelMetric => ({
  section,
  key,
  name: `zcsim_${name}`,
  type: 'counter',
  help: `${help} (${section === 'sendfile' ? 'sfstat.' : ''}${key})`,
});
const g = (section: string, key: string, name: string, help: string): KernelMetric => ({
  ...c(section, key, name, help),
  type: 'gauge',
});

export const KERNEL_METRICS: readonly KernelMetric[] = [
  g('vm', 'v_page_count', 'vm_physical_pages', 'Pages of simulated physical memory'),
  g('vm', 'v_free_count', 'vm_free_pages', 'Pages on the free list'),
  g('vm', 'v_active_count', 'vm_active_pages', 'Pages on the active queue'),
  g('vm', 'v_inactive_count', 'vm_inactive_pages', 'Pages on the inactive queue (the page cache)'),
  g('vm', 'v_wire_count', 'vm_wired_pages', 'Wired pages: held by sendfile or the copy path, not pageable'),
  g(
    'vm',
    'v_busy_unqueued_count',
    'vm_busy_unqueued_pages',
    'Unwired pages busy being paged in, on no queue',
  ),
  c('vm', 'pageins', 'vm_pageins_total', 'Pager reads (I/Os) started'),
  c('vm', 'pages_paged_in', 'vm_paged_in_pages_total', 'Pages filled by pager reads, read-ahead included'),
  c('vm', 'readahead_pages', 'vm_readahead_pages_total', 'Read-ahead pages allocated beyond a requested run'),
  c('vm', 'reactivations', 'vm_reactivated_pages_total', 'Inactive pages the page daemon found referenced'),
  c('vm', 'evictions', 'vm_evicted_pages_total', 'Pages the page daemon freed'),
  c('vm', 'invalidations', 'vm_invalidated_pages_total', 'Cached pages dropped because their file changed'),
  c('vm', 'vm_waits', 'vm_wait_sleeps_total', 'Sleeps in vm_wait for a free page'),

  g('sfbuf', 'nsfbufs', 'sfbufs_max', 'Size of the sf_buf pool, 0 without one (kern.ipc.nsfbufs)'),
  g('sfbuf', 'nsfbufsused', 'sfbufs_in_use', 'sf_bufs holding a mapping now (kern.ipc.nsfbufsused)'),
  g('sfbuf', 'nsfbufspeak', 'sfbufs_peak', 'Most sf_bufs ever in use at once (kern.ipc.nsfbufspeak)'),
  c('sfbuf', 'sf_allocwait', 'sfbuf_alloc_sleeps_total', 'Sleeps in sf_buf_alloc for a free buffer'),
  c('sfbuf', 'alloc_calls', 'sfbuf_allocs_total', 'sf_buf_alloc calls'),
  c(
    'sfbuf',
    'shootdowns',
    'sfbuf_shootdowns_total',
    'Mappings that needed a TLB shootdown IPI to other CPUs',
  ),
  c('sfbuf', 'ipis', 'sfbuf_ipis_total', 'CPUs interrupted by those shootdowns'),
  c(
    'sfbuf',
    'invlpg_local',
    'sfbuf_local_invalidations_total',
    'TLB invalidations on the calling CPU (invlpg)',
  ),
  c(
    'sfbuf',
    'mapping_reuses',
    'sfbuf_mapping_reuses_total',
    'Freed sf_bufs revived for the same page without remapping',
  ),

  g(
    'mbuf',
    'bytes_in_use',
    'mbuf_memory_in_use_bytes',
    'Bytes of mbufs and clusters in use (netstat -m current)',
  ),
  g(
    'mbuf',
    'bytes_in_cache',
    'mbuf_memory_cached_bytes',
    'Bytes of mbufs and clusters free in the zone caches',
  ),
  g('mbuf', 'bytes_total', 'mbuf_memory_allocated_bytes', 'Bytes allocated to network (netstat -m total)'),
  g(
    'mbuf',
    'ext_live',
    'mbuf_external_storage_in_use',
    'External storages attached to mbufs whose free routine has not run',
  ),

  c('sendfile', 'sf_syscalls', 'sendfile_calls_total', 'sendfile syscalls'),
  c(
    'sendfile',
    'sf_noiocnt',
    'sendfile_calls_without_io_total',
    'sendfile syscalls completed without I/O request',
  ),
  c('sendfile', 'sf_iocnt', 'sendfile_io_requests_total', 'Requests for I/O initiated by sendfile'),
  c('sendfile', 'sf_pages_read', 'sendfile_read_pages_total', 'Pages read by sendfile as part of a request'),
  c(
    'sendfile',
    'sf_pages_valid',
    'sendfile_valid_pages_total',
    'Pages valid at the time of a sendfile request',
  ),
  c(
    'sendfile',
    'sf_pages_bogus',
    'sendfile_bogus_pages_total',
    'Valid pages substituted by bogus_page in a read',
  ),
  c(
    'sendfile',
    'sf_rhpages_requested',
    'sendfile_readahead_requested_pages_total',
    'Pages requested for read ahead by applications',
  ),
  c('sendfile', 'sf_rhpages_read', 'sendfile_readahead_read_pages_total', 'Pages read ahead by sendfile'),
  c('sendfile', 'sf_busy', 'sendfile_busy_pages_total', 'Times sendfile met an already busy page'),
  c('sendfile', 'sf_allocfail', 'sendfile_sfbuf_denied_total', 'Requests for sf_bufs denied'),
  c('sendfile', 'sf_allocwait', 'sendfile_sfbuf_delayed_total', 'Requests for sf_bufs delayed'),

  c(
    'copy',
    'copy_bytes_out',
    'copy_out_bytes_total',
    'Bytes read(2) copied out of the page cache on the copy path',
  ),
  c(
    'copy',
    'copy_bytes_in',
    'copy_in_bytes_total',
    'Bytes write(2) copied into mbuf clusters on the copy path',
  ),

  c('sockets', 'tcps_sndbyte', 'socket_sent_bytes_total', 'Bytes the sockets handed to TCP'),
  c('sockets', 'snd_batches', 'socket_output_batches_total', 'tcp_output batches written to the host socket'),
  c('sockets', 'snd_views', 'socket_output_buffers_total', 'Buffers in those batches (views of mbuf data)'),
  c(
    'sockets',
    'sb_dropped_bytes',
    'socket_acked_bytes_total',
    'Bytes sbdrop released once the host took them',
  ),
  c('sockets', 'sb_autosize_grows', 'socket_sndbuf_grows_total', 'Send buffers grown by autosizing'),
  c('sockets', 'so_created', 'sockets_created_total', 'Sockets created'),
  g('sockets', 'so_open', 'sockets_open', 'Sockets created and not yet closed'),
  c('sockets', 'sbwait_sleeps', 'socket_sbwait_sleeps_total', 'Sleeps in sbwait for send buffer space'),
  c('sockets', 'sblock_sleeps', 'socket_sblock_sleeps_total', 'Sleeps in sblock behind another sender'),
  c(
    'sockets',
    'copy_bytes_in',
    'socket_copyin_bytes_total',
    'Bytes sosend copied from user memory into clusters',
  ),
  c('sockets', 'pr_ready_dropped', 'socket_ready_on_dropped_total', 'pr_ready calls on a dropped connection'),

  // netstat -s -p tcp (struct tcpstat, send side) and what the card does with the bursts.
  c(
    'tcp',
    'tcps_sndtotal',
    'tcp_sent_packets_total',
    'Packets TCP handed to IP (data, ACKs, SYN-ACKs, FINs, RSTs)',
  ),
  c('tcp', 'tcps_sndpack', 'tcp_sent_data_packets_total', 'Data packets TCP sent (a TSO burst is one)'),
  c('tcp', 'tcps_sndacks', 'tcp_sent_ack_packets_total', 'Pure ACKs TCP sent (the SYN-ACK included)'),
  c('tcp', 'tcps_sndctrl', 'tcp_sent_control_packets_total', 'FINs and RSTs TCP sent without data'),
  c('tcp', 'tcps_accepts', 'tcp_accepts_total', 'Connections accepted'),
  c('tcp', 'tso_bursts', 'tcp_tso_bursts_total', 'Bursts handed to the card with TSO'),
  c(
    'tcp',
    'wire_segments',
    'tcp_wire_segments_total',
    'Segments on the wire after the card cut the TSO bursts',
  ),
  c(
    'tcp',
    'tso_seglimit_cuts',
    'tcp_tso_seglimit_cuts_total',
    "TSO bursts shortened to the card's segment limit",
  ),
  c(
    'tcp',
    'tso_header_bytes',
    'tcp_tso_header_bytes_total',
    'Header bytes the card replicated into TSO segments',
  ),
  c(
    'tcp',
    'copym_mbufs',
    'tcp_copym_mbufs_total',
    'Mbufs tcp_m_copym made (references to the sockbuf storage)',
  ),
  c('tcp', 'hdr_copy_bytes', 'tcp_hdr_copy_bytes_total', 'Bytes of small sends copied into header mbufs'),

  // Kernel TLS (kern.ipc.tls.*, uipc_ktls.c), and the work it did.
  g('ktls', 'kern.ipc.tls.enable', 'ktls_enabled', 'Whether kernel TLS may be enabled on sockets'),
  g('ktls', 'kern.ipc.tls.maxlen', 'ktls_record_max_bytes', 'Largest TLS record payload the kernel frames'),
  g(
    'ktls',
    'kern.ipc.tls.bind_threads',
    'ktls_bind_threads',
    'Whether each CPU has its own encryption worker',
  ),
  g('ktls', 'kern.ipc.tls.tasks_active', 'ktls_tasks_active', 'Encryption tasks running now'),
  g('ktls', 'kern.ipc.tls.stats.threads', 'ktls_threads', 'Encryption workers'),
  c('ktls', 'kern.ipc.tls.stats.enable_calls', 'ktls_enable_calls_total', 'TCP_TXTLS_ENABLE calls'),
  c('ktls', 'kern.ipc.tls.stats.offload_total', 'ktls_offloads_total', 'Sockets that got a TLS session'),
  g('ktls', 'kern.ipc.tls.stats.active', 'ktls_sessions_active', 'TLS sessions on open sockets'),
  g(
    'ktls',
    'kern.ipc.tls.stats.sw_tx_inqueue',
    'ktls_sw_tx_inqueue',
    'Records waiting for a software encryption worker',
  ),
  c(
    'ktls',
    'kern.ipc.tls.stats.failed_crypto',
    'ktls_failed_crypto_total',
    'Records whose encryption failed',
  ),
  g('ktls', 'kern.ipc.tls.sw.gcm', 'ktls_sw_gcm_sessions', 'Software sessions with AES-GCM'),
  g(
    'ktls',
    'kern.ipc.tls.sw.chacha20',
    'ktls_sw_chacha20_sessions',
    'Software sessions with ChaCha20-Poly1305',
  ),
  g('ktls', 'kern.ipc.tls.ifnet.gcm', 'ktls_ifnet_gcm_sessions', 'NIC (ifnet) sessions with AES-GCM'),
  g(
    'ktls',
    'kern.ipc.tls.ifnet.chacha20',
    'ktls_ifnet_chacha20_sessions',
    'NIC (ifnet) sessions with ChaCha20-Poly1305',
  ),
  c(
    'ktls',
    'kern.ipc.tls.stats.ocf.tls13_gcm_encrypts',
    'ktls_ocf_tls13_gcm_encrypts_total',
    'Software TLS 1.3 AES-GCM record encryptions',
  ),
  c(
    'ktls',
    'kern.ipc.tls.stats.ocf.tls13_chacha20_encrypts',
    'ktls_ocf_tls13_chacha20_encrypts_total',
    'Software TLS 1.3 ChaCha20-Poly1305 record encryptions',
  ),
  c(
    'ktls',
    'kern.ipc.tls.stats.ocf.inplace',
    'ktls_ocf_inplace_total',
    'Records encrypted in their own pages',
  ),
  c(
    'ktls',
    'kern.ipc.tls.stats.ocf.separate_output',
    'ktls_ocf_separate_output_total',
    'Records encrypted from file pages into new pages',
  ),
  c('ktls', 'records_framed', 'ktls_records_framed_total', 'TLS records framed by ktls_frame'),
  c('ktls', 'records_sw', 'ktls_records_sw_total', 'Records encrypted by a software worker'),
  c('ktls', 'records_ifnet', 'ktls_records_ifnet_total', 'Records encrypted by the NIC'),
  c('ktls', 'sw_encrypt_bytes', 'ktls_sw_encrypt_bytes_total', 'Bytes encrypted by the CPU (software mode)'),
  c(
    'ktls',
    'ifnet_encrypt_bytes',
    'ktls_ifnet_encrypt_bytes_total',
    'Bytes encrypted by the NIC (ifnet mode)',
  ),
  c('ktls', 'copyin_bytes', 'ktls_copyin_bytes_total', "Bytes write(2) copied into a KTLS socket's pages"),
  c(
    'ktls',
    'anon_pages_allocated',
    'ktls_anon_pages_allocated_total',
    'Pages allocated for ciphertext or copied plaintext',
  ),
  g('ktls', 'anon_pages_held', 'ktls_anon_pages_held', 'Such pages held now'),
  c(
    'ktls',
    'rexmit_segments',
    'ktls_rexmit_segments_total',
    'Simulated retransmissions of NIC-encrypted records',
  ),
  c(
    'memory',
    'cpu_read_bytes',
    'memory_cpu_read_bytes_total',
    'Bytes the CPU read to copy or encrypt send data (the memory traffic model)',
  ),
  c(
    'memory',
    'cpu_write_bytes',
    'memory_cpu_write_bytes_total',
    'Bytes the CPU wrote to copy or encrypt send data (the memory traffic model)',
  ),
  c('memory', 'dma_read_bytes', 'memory_dma_read_bytes_total', 'Bytes the NIC read from memory by DMA'),
  c(
    'memory',
    'nic_encrypt_bytes',
    'memory_nic_encrypt_bytes_total',
    'Bytes the NIC encrypted as it read them',
  ),

  // High-water marks since the previous read of /stats or /metrics (each read resets them).
  g('peaks', 'nsfbufsused', 'sfbufs_in_use_peak', 'Most sf_bufs in use at once since the previous read'),
  g('peaks', 'mbufs', 'mbufs_in_use_peak', 'Most mbufs in use at once since the previous read'),
  g('peaks', 'clusters', 'clusters_in_use_peak', 'Most clusters in use at once since the previous read'),
  g('peaks', 'v_wire_count', 'vm_wired_pages_peak', 'Most wired pages at once since the previous read'),
];

/** The netstat -m zones under /stats kernel.mbuf: a labelled metric per field. */
export const ZONE_METRICS: readonly {
  field: string;
  name: string;
  type: 'counter' | 'gauge';
  help: string;
}[] = [
  { field: 'current', name: 'zcsim_mbuf_zone_in_use', type: 'gauge', help: 'Items in use per UMA zone' },
  {
    field: 'cache',
    name: 'zcsim_mbuf_zone_cached',
    type: 'gauge',
    help: 'Free items kept in the zone cache',
  },
  {
    field: 'total',
    name: 'zcsim_mbuf_zone_allocated',
    type: 'gauge',
    help: 'Items allocated (in use + cached)',
  },
  {
    field: 'max',
    name: 'zcsim_mbuf_zone_limit',
    type: 'gauge',
    help: 'Zone limit (kern.ipc.nmbufs, nmbclusters, ...)',
  },
  {
    field: 'failures',
    name: 'zcsim_mbuf_zone_denied_total',
    type: 'counter',
    help: 'Requests for items denied',
  },
  {
    field: 'sleeps',
    name: 'zcsim_mbuf_zone_delayed_total',
    type: 'counter',
    help: 'Requests for items delayed',
  },
  { field: 'sizeBytes', name: 'zcsim_mbuf_zone_item_size_bytes', type: 'gauge', help: 'Size of one item' },
];

/**
 * The errnos a connection is dropped with (transport errors, a failed page-in): shown at 0 from
 * the start, so that a rate over them exists before the first abort. Others appear when counted.
 */
export const ABORT_ERRNOS = ['ECONNRESET', 'EPIPE', 'EIO'] as const;
