// src/http/journey: the timeline of one request (GET /trace): a request of the server's own, made
// with the load room's client, the kernel's trace events (kernel TLS's too) recorded while it
// runs, folded into steps a reader can follow; and the same request on the wire as pcapng
// (GET /capture.pcapng). Its one context (fetch) refers to the connections' and the files'.
export { CAPTURE_MAX_BYTES, PCAP_USERAPPL, registerCaptureRoute } from './capture.js';
export type { JourneyContext } from './fetch.js';
export { foldJourney, JOURNEY_STEPS_MAX, type JourneyStep } from './fold.js';
export type { JourneyEvent } from './recorder.js';
export { type JourneyReport, registerJourneyRoute } from './route.js';
