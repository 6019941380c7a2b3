// Entry of the executor's worker threads. Workers do not inherit tsx's loader from the main thread,
// so register it here, then load the TypeScript module named in workerData.entry.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
