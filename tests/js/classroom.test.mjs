// Running the class in the client's reducer (static/js/store.js): the participation monitor's
// per-tick increments, the question and its answers, the announcement and eyes-up.
//   node --test tests/js/
import { test } from "node:test";
import assert from "node:assert/strict";
import { Store, applyParticipation } from "../../static/js/store.js";

globalThis.CustomEvent ??= class extends Event {
  constructor(type, options = {}) { super(type); this.detail = options.detail; }
};
globalThis.sessionStorage = { getItem: () => null, setItem: () => {} };

const ZERO = { orders: 0, orders_epoch: 0, refused: 0, last_tick: null, stand_in_orders: 0 };

test("a tick's increments add to the totals and to this epoch's count", () => {
  const p = { tick: 2, epoch: 1, seats: { 7: { ...ZERO, orders: 2, orders_epoch: 1, last_tick: 2 } } };
  assert.equal(applyParticipation(p, { tick: 3, epoch: 1, seats: { 7: { orders: 1, refused: 1, stand_in_orders: 0 }, 9: { orders: 0, refused: 0, stand_in_orders: 2 } } }), true);
  assert.deepEqual(p, { tick: 3, epoch: 1, seats: {
    7: { orders: 3, orders_epoch: 2, refused: 1, last_tick: 3, stand_in_orders: 0 },
    9: { ...ZERO, stand_in_orders: 2 } } });
});

test("a new epoch starts the epoch's counts again, and a tick already counted is skipped", () => {
  const p = { tick: 3, epoch: 1, seats: { 7: { ...ZERO, orders: 3, orders_epoch: 2, last_tick: 3 } } };
  assert.equal(applyParticipation(p, { tick: 3, epoch: 1, seats: { 7: { orders: 5 } } }), false);
  applyParticipation(p, { tick: 4, epoch: 2, seats: {} });
  assert.deepEqual(p.seats[7], { ...ZERO, orders: 3, orders_epoch: 0, last_tick: 3 });
  assert.equal(p.epoch, 2);
});

function opened(kind = "student") {
  const store = new Store("K7QXPM");
  store.apply({ type: "snapshot", seq: 4, game: { status: "running", tick: 3 }, you: { kind },
    commands: [], events: [], lobby: [], roster: null, question: null, answers: null, my_answer: null,
    announcement: null, eyes_up: false, participation: null });
  return store;
}

test("a new question forgets this seat's answer to the one before; the same question keeps it", () => {
  const store = opened();
  const q = { id: 5, number: 1, text: "Up?", choices: ["Up", "Down"], event: null, status: "open", counts: null };
  store.apply({ type: "question", seq: 5, question: q });
  store.apply({ type: "answered", id: "a-1", question: 5, choice: 1, seq: 5 });
  store.apply({ type: "question", seq: 6, question: { ...q, status: "revealed", counts: [0, 1] } });
  assert.deepEqual(store.state.myAnswer, { question: 5, choice: 1 });
  store.apply({ type: "question", seq: 7, question: { ...q, id: 6, number: 2 } });
  assert.equal(store.state.myAnswer, null);
});

test("answer counts only grow for a question, whatever order their messages come in", () => {
  const store = opened("projector");
  store.apply({ type: "answers", seq: 4, question: 5, answered: 2, of: 3 });
  store.apply({ type: "answers", seq: 4, question: 5, answered: 1, of: 3 });
  assert.deepEqual(store.state.answers, { question: 5, answered: 2, of: 3 });
  store.apply({ type: "answers", seq: 4, question: 6, answered: 0, of: 3 });
  assert.deepEqual(store.state.answers, { question: 6, answered: 0, of: 3 });
});

test("an announcement is shown until replaced or cleared; eyes-up follows its message", () => {
  const store = opened();
  store.apply({ type: "announcement", seq: 5, announcement: { number: 1, text: "Hi" } });
  assert.deepEqual(store.state.announcement, { number: 1, text: "Hi" });
  store.apply({ type: "announcement", seq: 6, announcement: null });
  assert.equal(store.state.announcement, null);
  store.apply({ type: "eyes_up", seq: 7, on: true });
  assert.equal(store.state.eyesUp, true);
});
