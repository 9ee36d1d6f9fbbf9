// The four game charts (prices, stacked emission shares, root proportion, network health), for
// the projector and the instructor console's live view.

import { SubnetChart, SeriesChart, asPct, subnetOrder, subnetNames, renderLegend } from "./charts.js";
import { fmt } from "./ui.js";

export class ChartSet {
  /** canvases: {price, share, rho, health}; legend: an element for the shared subnet legend. */
  constructor(canvases, { large = false, legend = null } = {}) {
    this.legendHost = legend;
    this.large = large;
    const shared = !legend;
    this.price = new SubnetChart(canvases.price, {
      pick: (s) => (s.price > 0 ? s.price : null), yLabel: "τ per α", logY: true, large,
      yFormat: (v) => fmt(v, 2), ariaLabel: "Alpha price of each subnet over ticks", legend: shared,
    });
    this.share = new SubnetChart(canvases.share, {
      pick: (s) => s.share, stacked: true, yMax: 1, yFormat: asPct, large,
      ariaLabel: "Emission share of each subnet over ticks, stacked", legend: shared,
    });
    this.rho = new SubnetChart(canvases.rho, {
      pick: (s) => s.root_prop, yMax: 1, yMin: 0, yFormat: asPct, large,
      refLine: { value: 0.5, label: "50%: above it root alone decides" },
      ariaLabel: "Root proportion on each subnet over ticks", legend: shared,
    });
    this.health = new SeriesChart(canvases.health, {
      label: "network health", yMax: 1, yFormat: asPct, large, ariaLabel: "Network health over epochs", legend: false,
    });
  }

  update(state) {
    const rows = state.history || [];
    const names = subnetNames(state.market);
    if (this.legendHost) renderLegend(this.legendHost, state.market, this.large);
    const order = subnetOrder(state.market);
    this.price.update(rows, names, order);
    this.share.update(rows, names, order);
    this.rho.update(rows, names, order);
    const ep = state.epochs || [];
    this.health.update(ep.map((r) => r.epoch), ep.map((r) => r.network_health));
  }
}
