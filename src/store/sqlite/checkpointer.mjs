// The WAL checkpointer of a SQLite database, run in a worker thread (see driver.ts). Plain
// JavaScript: worker threads do not inherit tsx's loader reliably.
//
// PASSIVE checkpoints copy committed WAL frames into the database file without taking the
// write lock, so they run beside the main connection's commits instead of inside one of them.
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';

const db = new BetterSqlite3(workerData.path);
db.pragma('busy_timeout = 5000');

function checkpoint() {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or interrupted: the next tick tries again; the WAL keeps every frame meanwhile.
  }
}

const timer = setInterval(checkpoint, workerData.intervalMs);

parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.postMessage('stopped');
  parentPort.close();
});
