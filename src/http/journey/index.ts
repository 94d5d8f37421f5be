// src/http/journey: the timeline of one request (GET /trace): a request of the server's own,
// made with the load room's client, the kernel's trace events (kernel TLS's too) recorded while it
// runs, folded into steps a reader can follow.
export { foldJourney, JOURNEY_STEPS_MAX, type JourneyStep } from './fold.js';
export type { JourneyEvent } from './recorder.js';
export { type JourneyContext, type JourneyReport, registerJourneyRoute } from './route.js';
