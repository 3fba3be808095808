// Entry of the localizer worker thread. A worker does not inherit loader hooks registered with
// tsx's register() in the parent (bin/avloc.js does that), and `--import tsx` reaches it only
// through execArgv; registering tsx here makes the TypeScript worker load however the parent
// was started (npm start, the bin launcher, the test runner, the bench).
import { register } from 'tsx/esm/api';

register();
await import('./localizer-worker.ts');
