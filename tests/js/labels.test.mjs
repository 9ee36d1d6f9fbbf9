// One name per subnet (issue #13, "one name per thing"): every page writes a subnet as
// "SN28 · TAO Accumulation Corp" through static/js/ui.js subnetLabel, and an event's "SN28"
// through labelMentions. The Python twin is game/names.py subnet_label (tests/server).
import { test } from "node:test";
import assert from "node:assert/strict";
import { subnetLabel, labelMentions } from "../../static/js/ui.js";
import { subnetsOf, subnetNameOf } from "../../static/js/views.js";

// A subnet row as sim Game.public_view sends it (views.js reads every field).
const row = (id, name) => ({ id, name, mechanism: "ai_work", owner: null, price: 0.01, moving_price: 0.01,
  share: 0.1, tao: 100, alpha: 10000, alpha_out: 0, root_prop: 0.9, revenue: 0, incentive: null,
  alpha_dividends: null, flow_ema: 0 });
const market = { subnets: [row(28, "TAO Accumulation Corp"), row(4, "Subnet 4"), row(7, "")] };

test("a subnet reads as its number and its name", () => {
  assert.equal(subnetLabel(28, "TAO Accumulation Corp"), "SN28 · TAO Accumulation Corp");
});

test("a subnet without a name of its own reads as its number alone", () => {
  assert.equal(subnetLabel(4, "Subnet 4"), "SN4");
  assert.equal(subnetLabel(7, undefined), "SN7");
  assert.equal(subnetLabel(7, "  "), "SN7");
});

test("the pages' subnet rows carry the label as their name", () => {
  assert.deepEqual(subnetsOf(market).map((s) => s.name), ["SN28 · TAO Accumulation Corp", "SN4", "SN7"]);
});

test("an event's SN28 is written with the subnet's name, once", () => {
  const nameOf = subnetNameOf(market);
  assert.equal(labelMentions("SN28 pays its holders", nameOf), "SN28 · TAO Accumulation Corp pays its holders");
  assert.equal(labelMentions("SN28 · TAO Accumulation Corp pays", nameOf), "SN28 · TAO Accumulation Corp pays");
  assert.equal(labelMentions("SN 28 and SN99 and SN280", nameOf), "SN28 · TAO Accumulation Corp and SN99 and SN280");
});
