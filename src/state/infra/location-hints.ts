/**
 * @module Which of the platform's Durable Object location hints an isolate's data centre belongs to: the region
 * whose tier objects (`_all@<hint>#<shard>`, `_registry@<hint>`) it talks to. Not every data centre hosts Durable Objects, so the tier
 * is per region, not per data centre. The table names the larger data centres by IATA code (`request.cf.colo`);
 * any other is placed by its country, then its continent (`request.cf.country`, `request.cf.continent`).
 */

/** The platform's location hints (Durable Objects `locationHint`). */
export const LOCATION_HINTS = ['wnam', 'enam', 'sam', 'weur', 'eeur', 'apac', 'oc', 'afr', 'me'] as const;
export type LocationHint = (typeof LOCATION_HINTS)[number];

const COLOS: Record<LocationHint, string> = {
  wnam: 'SEA PDX SFO SJC LAX SAN LAS PHX DEN SLC YVR YYC YEG ABQ SMF FAT HNL ANC BOI GEG',
  enam: 'IAD EWR JFK BOS PHL ORD DFW IAH ATL MIA MCI MSP DTW CLT BNA CMH PIT IND STL TPA MCO RDU RIC JAX SAT AUS OMA YYZ YUL YOW YWG YHZ QRO MEX GDL MTY',
  sam: 'GRU GIG CWB POA FOR REC SSA BSB BEL MAO EZE SCL LIM BOG MDE UIO GYE CCS PTY SJO ASU MVD',
  weur: 'LHR LGW MAN EDI DUB CDG MRS LYS AMS BRU LUX FRA DUS HAM MUC STR ZRH GVA MXP FCO LIS MAD BCN CPH OSL ARN GOT HEL',
  eeur: 'WAW PRG VIE BUD BTS OTP SOF BEG ZAG LJU ATH SKG KBP KIV RIX TLL VNO IST ADB MSQ TBS EVN',
  apac: 'NRT HND KIX FUK OKA ICN PUS HKG TPE KHH SIN KUL BKK HKT SGN HAN MNL CGK DPS BOM DEL MAA BLR HYD CCU AMD CMB DAC KTM KHI LHE ISB',
  oc: 'SYD MEL BNE PER ADL CBR AKL CHC NOU PPT SUV',
  afr: 'JNB CPT DUR LOS ACC NBO MBA DAR KGL ADD CAI ALG TUN CMN DKR LAD MPM HRE',
  me: 'DXB AUH DOH BAH KWI MCT RUH JED DMM AMM BEY TLV BGW',
};

const HINT_OF_COLO = new Map<string, LocationHint>();
for (const [hint, colos] of Object.entries(COLOS)) for (const colo of colos.split(' ')) HINT_OF_COLO.set(colo, hint as LocationHint);

const EASTERN_EUROPE = new Set('PL CZ SK AT HU RO BG RS HR SI BA ME MK AL GR UA MD BY LT LV EE TR GE AM AZ'.split(' '));
const MIDDLE_EAST = new Set('AE QA BH KW OM SA IL JO LB IQ IR SY YE'.split(' '));
const HINT_OF_CONTINENT: Record<string, LocationHint> = { NA: 'enam', SA: 'sam', EU: 'weur', AS: 'apac', OC: 'oc', AF: 'afr', AN: 'oc' };

/** What the runtime says of where the isolate runs (the parts of `request.cf` used). */
export interface IsolatePlace {
  colo?: string;
  country?: string;
  continent?: string;
  longitude?: string | number;
}

/**
 * The location hint of the region an isolate runs in; undefined when nothing is known (local development,
 * tests): the caller then talks to the global objects directly.
 */
export function locationHintOf(place: IsolatePlace | undefined): LocationHint | undefined {
  if (!place) return undefined;
  const byColo = place.colo ? HINT_OF_COLO.get(place.colo.toUpperCase()) : undefined;
  if (byColo) return byColo;
  const country = place.country?.toUpperCase();
  if (country && MIDDLE_EAST.has(country)) return 'me';
  if (country && EASTERN_EUROPE.has(country)) return 'eeur';
  const continent = place.continent?.toUpperCase();
  if (continent === 'NA') return Number(place.longitude) < -100 ? 'wnam' : 'enam';
  return continent ? HINT_OF_CONTINENT[continent] : undefined;
}

/** The name of a keyed tier object in a region: `<key>@<hint>` (the registry copy, `_registry@<hint>`). */
export function regionObjectName(service: string, hint: LocationHint): string {
  return `${service}@${hint}`;
}

/** The key of the region's exchange objects: `_` cannot start a service name, so it never meets a service's object. */
export const EXCHANGE_KEY = '_all';

/**
 * The region's exchange object an isolate talks to: `_all@<hint>#<shard>`, the shard picked by hashing the
 * isolate's id (FNV-1a), so a busy region's isolates spread over `shards` objects and each keeps its own.
 */
export function exchangeObjectName(hint: LocationHint, isolateId: string, shards: number): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < isolateId.length; i++) hash = Math.imul(hash ^ isolateId.charCodeAt(i), 0x01000193);
  return `${EXCHANGE_KEY}@${hint}#${(hash >>> 0) % Math.max(1, shards)}`;
}
