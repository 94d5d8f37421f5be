// src/http/journey: the timeline of one request (GET /trace): a request of the server's own,
// the kernel's trace events recorded while it runs, folded into steps a reader can follow; and
// the same request on the wire as pcapng (GET /capture.pcapng).
export { CAPTURE_MAX_BYTES, PCAP_USERAPPL, registerCaptureRoute } from './capture.js';
export { foldJourney, JOURNEY_STEPS_MAX, type JourneyStep } from './fold.js';
export type { JourneyEvent } from './recorder.js';
export { type JourneyReport, registerJourneyRoute } from './route.js';
