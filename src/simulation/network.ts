/**
 * @module The simulated edge: locations (data centres) grouped by the platform's location hints, where isolates
 * run and objects live, and the round-trip time between any two of them: 1–5 ms within a location, 5–30 ms
 * between locations of one region, 20–250 ms between regions (a fixed table of typical figures, ±15% per pair).
 */
import { LOCATION_HINTS, type LocationHint } from '../state/infra/location-hints.ts';
import type { Random } from './random.ts';

/** Typical round trips between regions, ms (one direction of the table is given; it is symmetric). */
const BETWEEN_REGIONS: Partial<Record<`${LocationHint}-${LocationHint}`, number>> = {
  'wnam-enam': 65, 'wnam-sam': 170, 'wnam-weur': 140, 'wnam-eeur': 170, 'wnam-apac': 130, 'wnam-oc': 150, 'wnam-afr': 250, 'wnam-me': 210,
  'enam-sam': 120, 'enam-weur': 80, 'enam-eeur': 110, 'enam-apac': 200, 'enam-oc': 200, 'enam-afr': 200, 'enam-me': 150,
  'sam-weur': 190, 'sam-eeur': 220, 'sam-apac': 250, 'sam-oc': 250, 'sam-afr': 250, 'sam-me': 250,
  'weur-eeur': 30, 'weur-apac': 200, 'weur-oc': 250, 'weur-afr': 150, 'weur-me': 90,
  'eeur-apac': 180, 'eeur-oc': 250, 'eeur-afr': 170, 'eeur-me': 70,
  'apac-oc': 110, 'apac-afr': 250, 'apac-me': 120,
  'oc-afr': 250, 'oc-me': 200,
  'afr-me': 150,
};

/** Share of the locations in each region (most data centres are in North America, Europe and Asia). */
const REGION_SHARE: Record<LocationHint, number> = { enam: 10, wnam: 7, weur: 10, eeur: 5, apac: 10, oc: 3, sam: 3, afr: 1, me: 1 };

export interface Location {
  index: number;
  hint: LocationHint;
  /** Share of the isolates (and of the traffic) in this location: a few locations are hot. */
  weight: number;
}

export class Network {
  readonly locations: Location[];
  /** Where each region's tier objects live: one location of the region (it hosts Durable Objects). */
  readonly regionSite: Map<LocationHint, number>;
  readonly #rtt: Float64Array;

  constructor(count: number, random: Random) {
    const total = Object.values(REGION_SHARE).reduce((a, b) => a + b, 0);
    const hints: LocationHint[] = [];
    for (const hint of LOCATION_HINTS) {
      const n = Math.max(1, Math.round((REGION_SHARE[hint] / total) * count));
      for (let i = 0; i < n; i++) hints.push(hint);
    }
    while (hints.length > count) hints.splice(hints.indexOf('enam'), 1);
    while (hints.length < count) hints.push('enam');
    // Shuffle so hot locations (low indexes, Zipf weights) fall in several regions.
    for (let i = hints.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [hints[i], hints[j]] = [hints[j]!, hints[i]!];
    }
    this.locations = hints.map((hint, index) => ({ index, hint, weight: 1 / (index + 1) }));
    this.regionSite = new Map();
    for (const location of this.locations) if (!this.regionSite.has(location.hint)) this.regionSite.set(location.hint, location.index);
    this.#rtt = new Float64Array(count * count);
    for (let a = 0; a < count; a++) {
      for (let b = a; b < count; b++) {
        const ha = this.locations[a]!.hint;
        const hb = this.locations[b]!.hint;
        let rtt: number;
        if (a === b) rtt = 1 + random() * 4;
        else if (ha === hb) rtt = 5 + random() * 25;
        else rtt = Math.min(250, Math.max(20, (BETWEEN_REGIONS[`${ha}-${hb}`] ?? BETWEEN_REGIONS[`${hb}-${ha}`] ?? 150) * (0.85 + random() * 0.3)));
        this.#rtt[a * count + b] = rtt;
        this.#rtt[b * count + a] = rtt;
      }
    }
  }

  /** Round trip between two locations, ms. */
  rtt(a: number, b: number): number {
    return this.#rtt[a * this.locations.length + b]!;
  }
}
