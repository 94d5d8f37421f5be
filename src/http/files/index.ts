// src/http/files: the file routes. A request target becomes a path under the root (path), the
// file is opened and checked by descriptor and cached per version (open-checked, file-cache), the
// HTTP semantics (validators, ranges, multipart) decide the answer (semantics, multipart), and a
// sender moves the body: sendfile(2) for /zerocopy, read(2)+write(2) for /copy, Node's
// fs.createReadStream for /stream (senders). Per-route counters live here (route-stats); the
// room's one context (context) holds them with the cache and the settings.

export { FilesContext } from './context.js';
export { multipartLayout } from './multipart.js';
export { openChecked } from './open-checked.js';
export { decodeRequestPath, servableName } from './path.js';
export { fileRouteOf, respondFile, targetPath } from './route.js';
export { ROUTES, type RouteCounters, type RouteName, takeInflightPeak } from './route-stats.js';
export { decide, httpDateSec, MAX_RANGES, makeEtag, type Validators } from './semantics.js';
