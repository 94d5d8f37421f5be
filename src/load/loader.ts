// The load generator's process (forked by the dashboard's Compare and by the benchmark): one
// child answers 'run' and 'verify' (runLoad), 'autocannon' and 'held' (many clients held open),
// and posts the measured window's start and end as events.
import { type AutocannonRequest, runAutocannon } from './autocannon.js';
import { postEvent, serveIpc } from './child.js';
import { type HeldClientsRequest, runHeldClients } from './held.js';
import { type LoadRequest, runLoad } from './load.js';

const onWindow = (event: string): void => postEvent(event);

serveIpc(
  {
    run: (body) => runLoad(body as LoadRequest, onWindow),
    // One connection, a few requests, the first body hashed: the correctness check before the runs.
    verify: (body) => runLoad({ ...(body as LoadRequest), connections: 1, warmupMs: 0 }),
    autocannon: (body) => runAutocannon(body as AutocannonRequest, onWindow),
    held: (body) => runHeldClients(body as HeldClientsRequest),
  },
  () => undefined,
);
