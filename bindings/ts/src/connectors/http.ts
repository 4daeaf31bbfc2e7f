/**
 * HTTP source: the records that clients POST to the job on `lightflusd serve`
 * (`POST /v1/jobs/{id}/events`, a JSON value, a JSON array of records, or NDJSON), in the
 * order the server accepted them. The server answers once the records are in the job; when
 * the job falls behind, it waits (backpressure) and then answers 503 so that the client retries.
 *
 *     ctx.fromSource(HttpSource.new<Click>()).name("clicks")
 *       .keyBy((c) => c.user) ...
 *
 * The source runs with parallelism 1 and never ends by itself: the job runs until it is
 * deleted. `lightflusd run` has no server to feed it and refuses such a job.
 */
import type { ConnectorConfig } from "../graph";
import { Source } from "./connector";

/** The source behind `HttpSource.new()`. */
export class HttpEventSource<T> extends Source<T> {
  /** @internal */
  connectorConfig(): ConnectorConfig {
    return { type: "http" };
  }

  protected readonly elementType_?: (value: T) => void;
}

export class HttpSource {
  private constructor() {}

  /** The records POSTed to the job: `HttpSource.new<Click>()`. */
  static new<T>(): HttpEventSource<T> {
    return new HttpEventSource<T>();
  }
}
