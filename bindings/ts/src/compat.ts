/**
 * The original Lightflus API's namespaces, so that its jobs run unmodified:
 *
 *     import { context } from "lightflus-api/src/stream/context";
 *     import { kafka, redis } from "lightflus-api/src/connectors/connectors";
 *     import ExecutionContext = context.ExecutionContext;
 *     import Kafka = kafka.Kafka;
 *
 * Each namespace holds the same classes as the flat exports of "lightflus".
 */
import * as connector_module from "./connectors/connector";
import * as kafka_module from "./connectors/kafka";
import * as mysql_module from "./connectors/mysql";
import * as redis_module from "./connectors/redis";
import * as context_module from "./context";

export namespace context {
  export import ExecutionContext = context_module.ExecutionContext;
}

export namespace connectors {
  export import Source = connector_module.Source;
  export import Sink = connector_module.Sink;
}

export namespace kafka {
  export import Kafka = kafka_module.Kafka;
  export import KafkaBuilder = kafka_module.KafkaBuilder;
}

export namespace redis {
  export import Redis = redis_module.Redis;
}

export namespace mysql {
  export import Mysql = mysql_module.Mysql;
  export import Statement = mysql_module.Statement;
  export import MysqlConnectionOptionsBuilder = mysql_module.MysqlConnectionOptionsBuilder;
}
