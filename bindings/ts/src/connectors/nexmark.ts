/**
 * Nexmark: the online-auction benchmark's events (people register, put items up for auction and
 * bid), made by the engine's C++ generator (docs/nexmark.md).
 *
 *     ctx.fromSource(Nexmark.events({ count: 1_000_000 }))   // Dataflow<NexmarkEvent>
 *       .filter((e) => e.event_type === 2)
 *       .map((e) => e.bid!)
 *
 * Event n is a pure function of n (Java's SplittableRandom seeded with the id, as in Flink's
 * nexmark generator): the same events as the C++ `nexmark::source`, at any parallelism and after
 * a restore. Subtask s of p generates the ids s, s+p, s+2p, ...; a checkpoint holds the next id.
 * Each event carries its dateTime as event time, and each batch ends with a watermark just
 * behind its last event, so event-time windows need no assignTimestamps.
 *
 * The objects have the fields of the nexmark JSON form (Flink's JSON format of its datagen
 * table): `event_type` (0 person, 1 auction, 2 bid) and `person`, `auction`, `bid`, of which the
 * two that do not match are null. Times (`dateTime`, `expires`) are TIMESTAMP(3) text in UTC,
 * "2015-07-15 00:00:00.000"; numbers are numbers.
 */
import { ConfigError, describeValue, requireInteger } from "../errors";
import type { ConnectorConfig } from "../graph";
import { Source } from "./connector";

/** A person registers (event_type 0). */
export interface NexmarkPerson {
  id: number;
  name: string;
  emailAddress: string;
  creditCard: string;
  city: string;
  state: string;
  dateTime: string;
  extra: string;
}

/** An item is put up for auction (event_type 1). */
export interface NexmarkAuction {
  id: number;
  itemName: string;
  description: string;
  initialBid: number;
  reserve: number;
  dateTime: string;
  expires: string;
  seller: number;
  category: number;
  extra: string;
}

/** A bid on an auction (event_type 2). */
export interface NexmarkBid {
  auction: number;
  bidder: number;
  price: number;
  channel: string;
  url: string;
  dateTime: string;
  extra: string;
}

/** One Nexmark event: `event_type` says which of person, auction and bid is set. */
export interface NexmarkEvent {
  event_type: 0 | 1 | 2;
  person: NexmarkPerson | null;
  auction: NexmarkAuction | null;
  bid: NexmarkBid | null;
}

/** Options of `Nexmark.events()`. */
export interface NexmarkOptions {
  /** How many events over all subtasks (ids 0 .. count-1); 0 or absent: unbounded. */
  count?: number;
  /** Events per second of wall clock over all subtasks; 0 or absent: as fast as possible. */
  rate?: number;
  /** Events per second of event time (Flink's first-event.rate; default 10,000). */
  eventTimeRate?: number;
  /** The dateTime of event 0, in ms since the epoch (default 2015-07-15 00:00:00 UTC). */
  firstEventTime?: number;
}

/** The source behind `Nexmark.events()`. */
export class NexmarkSource extends Source<NexmarkEvent> {
  /** @internal */
  constructor(private readonly config_: ConnectorConfig) {
    super();
  }

  /** @internal */
  connectorConfig(): ConnectorConfig {
    return { ...this.config_ };
  }

  protected readonly elementType_?: (value: NexmarkEvent) => void;
}

export class Nexmark {
  private constructor() {}

  /** The Nexmark events: `ctx.fromSource(Nexmark.events({ count: 1_000_000 }))`. */
  static events(options: NexmarkOptions = {}): NexmarkSource {
    const where = "Nexmark.events()";
    if (options === null || typeof options !== "object") {
      throw new ConfigError(`${where} expects an options object, got ${describeValue(options)}`);
    }
    const known = ["count", "rate", "eventTimeRate", "firstEventTime"];
    for (const name of Object.keys(options)) {
      if (!known.includes(name)) {
        throw new ConfigError(`${where}: unknown option '${name}' (known: ${known.join(", ")})`);
      }
    }
    const config: ConnectorConfig = { type: "nexmark", count: 0, rate: 0 };
    if (options.count !== undefined) config.count = requireInteger(options.count, where, "count", 0);
    if (options.rate !== undefined) config.rate = positiveOrZero(options.rate, where, "rate");
    if (options.eventTimeRate !== undefined) {
      config.eventTimeRate = positiveOrZero(options.eventTimeRate, where, "eventTimeRate");
      if (config.eventTimeRate === 0) throw new ConfigError(`${where}: eventTimeRate must be > 0`);
    }
    if (options.firstEventTime !== undefined) {
      config.firstEventTime = requireInteger(options.firstEventTime, where, "firstEventTime", 0);
    }
    return new NexmarkSource(config);
  }
}

function positiveOrZero(n: unknown, where: string, what: string): number {
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) {
    throw new ConfigError(`${where}: ${what} must be a number >= 0, got ${describeValue(n)}`);
  }
  return n;
}
