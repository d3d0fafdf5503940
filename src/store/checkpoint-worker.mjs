// The WAL checkpointer's thread (src/store/checkpointer.ts): its own connection to the GCKS
// database runs PRAGMA wal_checkpoint(PASSIVE) every `intervalMs`, so that copying WAL frames
// into the database file, and the fsync that ends a checkpoint, happen here and not on the
// event loop that writes registrations. PASSIVE never waits for the writer or for readers: it
// copies what it can and returns. Plain JavaScript, started without the parent's execArgv.
//
// workerData: { path, intervalMs, busyTimeoutMs, control } where control is an Int32Array over
//   a SharedArrayBuffer: this thread sets [0] to 1 once its connection is closed (the parent
//   waits on it to close the store synchronously).
// Parent -> worker: 'stop' (close the connection; the thread then ends).
// Worker -> parent: { t: 'ready' } | { t: 'failed', error } (cannot run: the parent keeps
//   checkpointing itself) | { t: 'error', error } (a checkpoint failed: the parent takes
//   checkpoints back).
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, intervalMs, busyTimeoutMs, control } = workerData;
const closed = () => {
  Atomics.store(control, 0, 1);
  Atomics.notify(control, 0);
};
let db;
try {
  db = new Database(path, { fileMustExist: true, timeout: busyTimeoutMs });
  // A checkpoint ends with an fsync of the database file (NORMAL as the writer's connection).
  db.pragma('synchronous = NORMAL');
  if (db.pragma('journal_mode', { simple: true }) !== 'wal') throw new Error('the database is not in WAL mode');
} catch (e) {
  db?.close();
  closed();
  parentPort.postMessage({ t: 'failed', error: String(e?.message ?? e) });
  parentPort.close();
}
if (db?.open) {
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  let failed = false;
  const timer = setInterval(() => {
    try {
      checkpoint.all();
    } catch (e) {
      if (!failed) parentPort.postMessage({ t: 'error', error: String(e?.message ?? e) });
      failed = true;
    }
  }, intervalMs);
  parentPort.on('message', (m) => {
    if (m !== 'stop') return;
    clearInterval(timer);
    db.close();
    closed();
    parentPort.close();
  });
  parentPort.postMessage({ t: 'ready' });
}
