// The client's reducer (static/js/store.js) on its own, in Node's built-in test runner:
//   node --test tests/js/
// The state-diff tests (tests/server/test_state_diff.py) drive the same module with what a real
// server sends; these pin the cases where a delta must leave what a fresh snapshot would.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Store } from "../../static/js/store.js";

// Node 18 (Debian's) has no global CustomEvent, which store.js dispatches; Node 20 has.
globalThis.CustomEvent ??= class extends Event {
  constructor(type, options = {}) { super(type); this.detail = options.detail; }
};

globalThis.sessionStorage = { getItem: () => null, setItem: () => {} };

function started() {
  const store = new Store("K7QXPM");
  store.apply({
    type: "snapshot", seq: 4, game: { status: "running", tick: 3, players: 1 },
    you: { kind: "student", seat_id: 1, nickname: "Ann", role: "speculator", active: true },
    market: {}, leaderboard: [], private: {}, commands: [], events: [],
    lobby: [{ nickname: "Ann", role: "speculator" }], roster: null,
  });
  return store;
}

test("a lobby message counts the players where the game object shows them too", () => {
  const store = started();
  store.apply({ type: "lobby", seq: 5, players: 2, lobby: [{ nickname: "Ann", role: "root_validator" }, { nickname: "Bo", role: "speculator" }] });
  assert.equal(store.state.players, 2);
  assert.equal(store.state.game.players, 2);
  assert.equal(store.state.you.role, "root_validator");
});

test("an accepted command is listed as a fresh snapshot lists a queued one", () => {
  const store = started();
  store.noteSent({ id: "c-1", do: "stake", subnet: 1, tao: 10 });
  store.apply({ type: "accepted", id: "c-1", command: 9, due_tick: 4, seq: 4 });
  const asSent = JSON.parse(JSON.stringify(store.queued())); // what a page draws: no undefined keys
  assert.deepEqual(asSent, [{ id: "c-1", command: 9, due_tick: 4, status: "queued", tick: null, reason: null, fill: null, actor: "human", do: "stake", subnet: 1, tao: 10 }]);
});

test("a cancelled command says why, as the server's command log does", () => {
  const store = started();
  store.apply({ type: "accepted", id: "c-1", command: 9, due_tick: 4, seq: 4 });
  store.apply({ type: "cancelled", id: "x-1", command: "c-1", seq: 4 });
  const [c] = store.state.commands;
  assert.equal(c.status, "cancelled");
  assert.equal(c.reason, "cancelled");
  assert.deepEqual(store.queued(), []);
});

test("a next_round message says where the class went, as a snapshot's next_round does", () => {
  const store = started();
  assert.equal(store.state.nextRound, null);
  const next = { code: "Q4WTRM", url: "/play/Q4WTRM/", carry_url: "/join/Q4WTRM/carry", console_url: "/console/Q4WTRM/", practice: false };
  let told = 0;
  store.addEventListener("next_round", () => { told += 1; });
  store.apply({ type: "next_round", seq: 5, next_round: next });
  assert.deepEqual(store.state.nextRound, next);
  assert.equal(told, 1);
  store.apply({ type: "next_round", seq: 6, next_round: null }); // back from a practice round
  assert.equal(store.state.nextRound, null);
});
