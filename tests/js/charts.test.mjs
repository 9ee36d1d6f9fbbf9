// The chart styles as shipped (static/js/charts.js): up to 16 subnets each get a look that
// differs from every other by more than its colour (issue #13, "Accessible").
import { test } from "node:test";
import assert from "node:assert/strict";
import { seriesStyle, MAX_SERIES } from "../../static/js/charts.js";

const looks = Array.from({ length: 16 }, (_, i) => seriesStyle(i));

test("sixteen subnets get sixteen colours", () => {
  assert.equal(MAX_SERIES, 16);
  assert.equal(new Set(looks.map((s) => s.color.toLowerCase())).size, 16);
});

test("no two of them share a marker: shape, fill and turn together", () => {
  const markers = looks.map((s) => `${s.marker}/${s.filled}/${s.rotation}`);
  assert.equal(new Set(markers).size, 16, markers.join(" "));
});

test("no two of them share a dash pattern", () => {
  assert.equal(new Set(looks.map((s) => JSON.stringify(s.dash))).size, 16);
});

test("a hollow marker is drawn white inside, a filled one in its colour", () => {
  for (const s of looks) assert.equal(s.fill, s.filled ? s.color : "#ffffff");
});
