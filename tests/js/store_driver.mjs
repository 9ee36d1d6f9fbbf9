// Drives the client's reducer as shipped (static/js/store.js, the same ES module the pages
// load) for the Python tests (tests/server/storejs.py): one JSON request a line on stdin, one
// JSON answer a line on stdout. Each named client is a Store of its own with its own
// sessionStorage, as one browser tab.
//   {"op": "new", "client": "alice", "code": "K7QXPM"}          a new tab
//   {"op": "reload", "client": "alice2", "from": "alice"}       the same tab reloaded
//   {"op": "sent", "client": "alice", "command": {...}}         the page noted a command it sends
//   {"op": "apply", "client": "alice", "message": {...}}        a message from the socket
//   {"op": "state", "client": "alice"}                          the state the pages draw from
import { createInterface } from "node:readline";
import { Store } from "../../static/js/store.js";

// Node 18 (Debian's) has no global CustomEvent, which store.js dispatches; Node 20 has.
globalThis.CustomEvent ??= class extends Event {
  constructor(type, options = {}) { super(type); this.detail = options.detail; }
};

// The chart history has its own path (GET /g/<code>/history) and its own tests: here a request
// for it never answers, so the store keeps what it has.
globalThis.fetch = () => new Promise(() => {});

class MemoryStorage {
  constructor(items) { this.items = new Map(items); }
  getItem(k) { return this.items.has(k) ? this.items.get(k) : null; }
  setItem(k, v) { this.items.set(k, String(v)); }
  removeItem(k) { this.items.delete(k); }
}

const tabs = new Map(); // client -> {store, storage}

function tab(name) {
  const t = tabs.get(name);
  if (!t) throw new Error(`no client ${name}`);
  globalThis.sessionStorage = t.storage; // store.js reads the tab's sessionStorage
  return t;
}

function open(name, code, storage) {
  globalThis.sessionStorage = storage;
  tabs.set(name, { store: new Store(code), storage });
}

const ops = {
  new: (r) => open(r.client, r.code, new MemoryStorage()),
  reload: (r) => { const old = tab(r.from); open(r.client, old.store.code, new MemoryStorage(old.storage.items)); },
  sent: (r) => tab(r.client).store.noteSent(r.command),
  apply: (r) => tab(r.client).store.apply(r.message),
  state: (r) => tab(r.client).store.state,
};

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  try {
    const request = JSON.parse(line);
    const op = ops[request.op];
    if (!op) throw new Error(`unknown op ${request.op}`);
    answer = { ok: true, result: op(request) ?? null };
  } catch (e) {
    answer = { ok: false, error: String(e && e.stack || e) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
