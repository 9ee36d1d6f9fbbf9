// The page's socket client (static/js/socket.js) on its own, in Node's built-in test runner:
// how it orders what the server sends by seq (docs/protocol.md, "Sequence numbers, gaps and
// snapshots").
import { test } from "node:test";
import assert from "node:assert/strict";

// What the module asks of a browser page, and nothing more.
globalThis.location = { protocol: "http:", host: "127.0.0.1:8000" };
globalThis.document = { addEventListener() {}, visibilityState: "visible" };
globalThis.window = { addEventListener() {} };
globalThis.sessionStorage = { getItem: () => null, setItem: () => {} };
globalThis.CustomEvent ??= class extends Event {
  constructor(type, options = {}) { super(type); this.detail = options.detail; }
};

const { GameSocket } = await import("../../static/js/socket.js");

function live() {
  const socket = new GameSocket("/ws/game/K7QXPM/");
  const seen = [];
  socket.addEventListener("message", (ev) => seen.push(["message", ev.detail.type, ev.detail.seq]));
  socket.addEventListener("gap", (ev) => seen.push(["gap", ev.detail.have, ev.detail.got]));
  socket._onMessage({ type: "snapshot", seq: 4 });
  return { socket, seen };
}

test("a tick's private message that comes after a later public message is still applied", () => {
  const { socket, seen } = live();
  socket._onMessage({ type: "tick", seq: 5, tick: 3 });
  socket._onMessage({ type: "announcement", seq: 6 });  // a console's action, in between
  socket._onMessage({ type: "private", seq: 5, tick: 3 });
  assert.deepEqual(seen, [["message", "tick", 5], ["message", "announcement", 6],
                          ["message", "private", 5]]);
  assert.equal(socket.seq, 6);
});

test("a private message ahead of every public one means a public one was missed", () => {
  const { socket, seen } = live();
  socket._onMessage({ type: "private", seq: 5, tick: 3 });
  assert.deepEqual(seen, [["gap", 4, 5]]);
  assert.equal(socket.awaitingSnapshot, true);
});
