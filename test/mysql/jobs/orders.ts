// Orders into MySQL/MariaDB with the original Lightflus API (run by test/mysql/mysql_js_test
// through `lightflusd run`):
//
//     lightflusd run orders.ts --set port=3306 --set database=shop --set password=secret
//
// Writes orders 1..count into `orders (id, customer, total, paid, items)`; idempotent.
import { context } from "lightflus-api/src/stream/context";
import { mysql } from "lightflus-api/src/connectors/connectors";
import { Generator } from "lightflus";
import ExecutionContext = context.ExecutionContext;
import Mysql = mysql.Mysql;

type Order = { id: number; customer: string; total: number; paid: boolean; items: string[] };

const ctx = ExecutionContext.new("orders", "default");
const count = Number(ctx.param("count", "1000"));
ctx
  .fromSource(Generator.sequence(1, count))
  .map(
    (i: number): Order => ({
      id: i,
      customer: "customer " + (i % 10),
      total: i * 2.5,
      paid: i % 3 === 0,
      items: ["item" + (i % 4)],
    }),
  )
  .sink(
    Mysql.new<Order>()
      .connection({
        host: ctx.param("host", "127.0.0.1"),
        port: Number(ctx.param("port", "3306")),
        username: ctx.param("username", "lightflus"),
        password: ctx.param("password", ""),
        database: ctx.param("database", "lightflus"),
      })
      .statement(
        "INSERT INTO orders (id, customer, total, paid, items) VALUES (?, ?, ?, ?, ?) " +
          "ON DUPLICATE KEY UPDATE total = VALUES(total)",
      )
      .extractors((s) => {
        s.setNumber(1, (o) => o.id);
        s.setString(2, (o) => o.customer);
        s.setNumber(3, (o) => o.total);
        s.setNumber(4, (o) => (o.paid ? 1 : 0));
        s.setString(5, (o) => JSON.stringify(o.items));
      }),
  );
ctx.execute();
