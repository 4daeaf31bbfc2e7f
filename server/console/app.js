// The web console of lightflusd: plain JavaScript, no framework, nothing fetched but the
// daemon's own REST API (docs/server.md), polled once a second.
//
// Views (by the URL's hash): #/ the jobs, #/jobs/ID one job, #/submit the submit form.
// With a token configured, the API answers 401: the page asks for the token, keeps it in this
// tab's sessionStorage (never in localStorage or a cookie) and sends it as
// `Authorization: Bearer TOKEN`. Everything user-controlled (names, errors, sources,
// parameters) is put into the page as text, never as HTML.
"use strict";

(function () {
  const POLL_MS = 1000;
  const TOKEN_KEY = "lightflus.token";

  // ---------------------------------------------------------------------------------------
  // DOM helpers

  const $ = (id) => document.getElementById(id);

  // h("td", { class: "num" }, "12"): an element with attributes and children (text or nodes).
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }

  function setAttrs(el, attrs) {
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
  }

  function append(el, children) {
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  function replaceChildren(el, ...children) {
    el.replaceChildren();
    append(el, children);
  }

  // ---------------------------------------------------------------------------------------
  // Formatting

  const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const oneDecimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

  function count(n) {
    return n === undefined || n === null ? "–" : integer.format(n);
  }

  function rate(n) {
    if (n === undefined || n === null) return "–";
    return n >= 100 ? integer.format(n) : oneDecimal.format(n);
  }

  function duration(seconds) {
    if (seconds === undefined || seconds === null) return "–";
    let rest = Math.floor(seconds);
    const d = Math.floor(rest / 86400);
    rest -= d * 86400;
    const hh = Math.floor(rest / 3600);
    rest -= hh * 3600;
    const mm = Math.floor(rest / 60);
    const ss = rest - mm * 60;
    const pad = (x) => String(x).padStart(2, "0");
    if (d > 0) return `${d}d ${hh}h ${pad(mm)}m`;
    if (hh > 0) return `${hh}h ${pad(mm)}m ${pad(ss)}s`;
    if (mm > 0) return `${mm}m ${pad(ss)}s`;
    return `${ss}s`;
  }

  function ago(iso) {
    if (!iso) return null;
    const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    return `${duration(seconds)} ago`;
  }

  function bytes(n) {
    if (!n) return "0 B";
    const units = ["B", "KiB", "MiB", "GiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return `${i === 0 ? n : oneDecimal.format(n)} ${units[i]}`;
  }

  function percent(fraction) {
    return fraction === null || fraction === undefined ? "–" : `${Math.round(fraction * 100)}%`;
  }

  // 0 (green) .. 1 (red), for queue fill and backpressure.
  function heat(fraction) {
    const x = Math.min(1, Math.max(0, fraction || 0));
    return `hsl(${Math.round(120 * (1 - x))}, 65%, 42%)`;
  }

  function badge(status) {
    return h("span", { class: `badge ${status}` }, status);
  }

  // ---------------------------------------------------------------------------------------
  // The REST API

  class AuthError extends Error {}

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  const api = {
    token: sessionStorage.getItem(TOKEN_KEY) || "",

    // fetch() with the token; the parsed JSON (or text) of a 2xx, else throws ApiError (or
    // AuthError for a 401, after asking for the token).
    async request(method, path, options = {}) {
      const headers = Object.assign({}, options.headers);
      if (this.token) headers.Authorization = `Bearer ${this.token}`;
      let response;
      try {
        response = await fetch(path, { method, headers, body: options.body, cache: "no-store" });
      } catch (e) {
        connection.down(`cannot reach lightflusd: ${e.message}`);
        throw new ApiError(0, `cannot reach lightflusd (${e.message})`);
      }
      if (response.status === 401) {
        connection.down("the API needs the token");
        tokenDialog.ask(this.token ? "The token was refused." : "");
        throw new AuthError("the API needs the token");
      }
      connection.up();
      const type = response.headers.get("Content-Type") || "";
      const body = type.includes("application/json") ? await response.json() : await response.text();
      if (!response.ok) {
        const detail = body && body.detail ? body.detail : `${response.status} ${response.statusText}`;
        throw new ApiError(response.status, detail);
      }
      return body;
    },

    setToken(token) {
      this.token = token;
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      else sessionStorage.removeItem(TOKEN_KEY);
      $("forget-token").hidden = !token;
    },
  };

  const connection = {
    up() {
      const el = $("connection");
      el.classList.remove("down");
      el.textContent = `live · ${new Date().toLocaleTimeString()}`;
    },
    down(why) {
      const el = $("connection");
      el.classList.add("down");
      el.textContent = why;
    },
  };

  function notice(text, bad) {
    const el = $("notice");
    el.textContent = text;
    el.classList.toggle("bad", Boolean(bad));
    el.hidden = !text;
  }

  // ---------------------------------------------------------------------------------------
  // Dialogs: the token and confirmations

  const tokenDialog = {
    waiting: false,
    ask(error) {
      const dialog = $("token-dialog");
      $("token-error").textContent = error || "";
      $("token-error").hidden = !error;
      if (!dialog.open) {
        $("token-input").value = "";
        dialog.showModal();
        $("token-input").focus();
      }
      this.waiting = true;
    },
    init() {
      $("token-form").addEventListener("submit", (event) => {
        event.preventDefault();
        const token = $("token-input").value.trim();
        if (!token) return;
        api.setToken(token);
        $("token-dialog").close();
        this.waiting = false;
        router.refresh();
      });
      // The page cannot work without it: Escape does not dismiss the dialog.
      $("token-dialog").addEventListener("cancel", (event) => event.preventDefault());
      $("forget-token").addEventListener("click", () => {
        api.setToken("");
        router.refresh();
      });
      $("forget-token").hidden = !api.token;
    },
  };

  // Resolves true when the user confirms.
  function confirmAction(title, text, verb) {
    const dialog = $("confirm-dialog");
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    $("confirm-ok").textContent = verb;
    return new Promise((resolve) => {
      const done = (answer) => {
        $("confirm-ok").removeEventListener("click", ok);
        $("confirm-cancel").removeEventListener("click", cancel);
        dialog.removeEventListener("cancel", cancel);
        if (dialog.open) dialog.close();
        resolve(answer);
      };
      const ok = () => done(true);
      const cancel = (event) => {
        if (event) event.preventDefault();
        done(false);
      };
      $("confirm-ok").addEventListener("click", ok);
      $("confirm-cancel").addEventListener("click", cancel);
      dialog.addEventListener("cancel", cancel);
      dialog.showModal();
      $("confirm-cancel").focus();
    });
  }

  // ---------------------------------------------------------------------------------------
  // Polling: one view polls at a time, a request at a time, once a second.

  const poller = {
    generation: 0,
    start(fn) {
      const generation = ++this.generation;
      const tick = async () => {
        if (generation !== this.generation) return;
        if (!tokenDialog.waiting) {
          try {
            await fn();
          } catch (e) {
            if (!(e instanceof AuthError) && e.status !== 0) notice(e.message, true);
          }
        }
        if (generation === this.generation) setTimeout(tick, POLL_MS);
      };
      tick();
    },
    stop() {
      this.generation++;
    },
  };

  // ---------------------------------------------------------------------------------------
  // The jobs

  const jobsView = {
    show() {
      poller.start(() => this.poll());
    },
    async poll() {
      const { jobs } = await api.request("GET", "/v1/jobs");
      jobs.sort((a, b) => (a.createdAt || "").localeCompare(b.createdAt || "") || a.name.localeCompare(b.name));
      this.update($("jobs-table").tBodies[0], jobs);
      $("jobs-empty").hidden = jobs.length > 0;
    },
    // Updates the rows in place, cell by cell, so that a link being clicked during a poll is
    // not replaced under the mouse.
    update(tbody, jobs) {
      const existing = new Map([...tbody.rows].map((row) => [row.dataset.jobId, row]));
      jobs.forEach((job, index) => {
        const fresh = this.row(job);
        let row = existing.get(job.id);
        if (row) {
          existing.delete(job.id);
          [...fresh.cells].forEach((cell, i) => {
            if (row.cells[i].innerHTML !== cell.innerHTML) row.replaceChild(cell, row.cells[i]);
          });
          row.dataset.status = job.status;
        } else {
          row = fresh;
        }
        if (tbody.rows[index] !== row) tbody.insertBefore(row, tbody.rows[index] || null);
      });
      for (const row of existing.values()) row.remove();
    },
    row(job) {
      const c = job.checkpoints || {};
      const checkpoint = c.lastCompletedAt
        ? h("span", { title: `${c.lastCompletedAt} · ${c.lastPath}` }, `#${c.lastId} · ${ago(c.lastCompletedAt)}`)
        : h("span", { class: "muted" }, "none yet");
      return h(
        "tr",
        { "data-job-id": job.id, "data-status": job.status },
        h("td", { class: "col-name" }, h("a", { href: `#/jobs/${encodeURIComponent(job.id)}` }, job.name)),
        h("td", { class: "col-status" }, badge(job.status)),
        h("td", { class: "col-uptime" }, duration(job.uptimeSeconds)),
        h("td", { class: "num col-in-rate" }, rate(job.recordsInPerSecond)),
        h("td", { class: "num col-out-rate" }, rate(job.recordsOutPerSecond)),
        h("td", { class: "num col-in" }, count(job.recordsIn)),
        h("td", { class: "num col-out" }, count(job.recordsOut)),
        h("td", { class: "col-checkpoint" }, checkpoint),
        h("td", { class: "errors col-errors" }, this.errors(job)),
      );
    },
    errors(job) {
      const parts = [];
      if (job.error) parts.push(h("div", { class: "error-text" }, job.error));
      const c = job.checkpoints || {};
      if (c.failed > 0) parts.push(h("div", { class: "bad-text" }, `${count(c.failed)} checkpoints failed${c.lastError ? `: ${c.lastError}` : ""}`));
      if (job.restarts > 0) parts.push(h("div", { class: "bad-text" }, `${count(job.restarts)} restarts`));
      if (job.lateDropped > 0) parts.push(h("div", { class: "bad-text" }, `${count(job.lateDropped)} late drops`));
      if (job.deadLetters > 0) parts.push(h("div", { class: "bad-text" }, `${count(job.deadLetters)} dead letters`));
      return parts.length ? parts : h("span", { class: "muted" }, "–");
    },
  };

  // ---------------------------------------------------------------------------------------
  // One job

  const jobView = {
    id: null,
    job: null,
    previous: new Map(), // operator id -> { at, backpressureMs } of the last poll
    backpressure: new Map(), // operator id -> share of the last interval spent blocked

    show(id) {
      this.id = id;
      this.job = null;
      this.previous.clear();
      this.backpressure.clear();
      for (const el of ["job-name", "job-id", "job-summary", "job-source", "job-plan", "job-graph-json", "job-source-name"]) {
        replaceChildren($(el));
      }
      $("job-status").textContent = "";
      $("job-status").className = "badge";
      $("job-error").hidden = true;
      replaceChildren($("graph"));
      replaceChildren($("operators-table").tBodies[0]);
      replaceChildren($("job-params").tBodies[0]);
      this.loadSource(id);
      poller.start(() => this.poll());
    },

    async loadSource(id) {
      try {
        // The file the user wrote when the CLI sent it with its bundle, else the source as run.
        const text = await api.request("GET", `/v1/jobs/${encodeURIComponent(id)}/source?original=true`);
        if (this.id === id) $("job-source").textContent = text;
      } catch (e) {
        if (e instanceof AuthError) {
          this.sourcePending = id; // loaded again once the token is in
        } else if (this.id === id) {
          $("job-source").textContent = `(the source could not be loaded: ${e.message})`;
        }
      }
    },

    async poll() {
      const id = this.id;
      let job;
      try {
        job = await api.request("GET", `/v1/jobs/${encodeURIComponent(id)}`);
      } catch (e) {
        if (e.status === 404) {
          notice(`There is no job ${id} (any more).`, true);
          poller.stop();
          return;
        }
        throw e;
      }
      if (this.id !== id) return;
      if (this.sourcePending === id) {
        this.sourcePending = null;
        this.loadSource(id);
      }
      const first = this.job === null;
      this.job = job;
      this.sampleBackpressure(job);
      this.render(job, first);
    },

    // The share of the last interval each operator's subtasks spent blocked on full channels.
    sampleBackpressure(job) {
      const now = performance.now();
      for (const op of job.operators || []) {
        const before = this.previous.get(op.id);
        if (before && now > before.at) {
          const blocked = Math.max(0, op.backpressureMs - before.backpressureMs);
          const share = blocked / ((now - before.at) * Math.max(1, op.parallelism));
          this.backpressure.set(op.id, Math.min(1, share));
        }
        this.previous.set(op.id, { at: now, backpressureMs: op.backpressureMs });
      }
    },

    render(job, first) {
      $("job-name").textContent = job.name;
      $("job-status").textContent = job.status;
      $("job-status").className = `badge ${job.status}`;
      $("job-id").textContent = `id ${job.id} · submitted ${job.createdAt || "?"}`;
      $("job-error").textContent = job.error || "";
      $("job-error").hidden = !job.error;
      const running = job.status === "running";
      $("job-savepoint").disabled = !running;
      $("job-stop").disabled = !running;
      this.renderSummary(job);
      drawGraph($("graph"), job, this.backpressure);
      this.renderOperators(job);
      if (first) {
        this.renderParams(job.params || {});
        $("job-source-name").textContent = job.sourceFile || `${job.name}.${job.language || "ts"}`;
        $("job-plan").textContent = job.plan || "(no plan yet)";
        $("job-graph-json").textContent = JSON.stringify(job.graph, null, 2);
      }
    },

    renderSummary(job) {
      const c = job.checkpoints || {};
      const item = (label, value, key) =>
        h("div", { "data-key": key }, h("dt", {}, label), h("dd", {}, value));
      replaceChildren(
        $("job-summary"),
        item("Uptime", duration(job.uptimeSeconds), "uptime"),
        item("Records in /s", rate(job.recordsInPerSecond), "in-rate"),
        item("Records out /s", rate(job.recordsOutPerSecond), "out-rate"),
        item("Records in", count(job.recordsIn), "in"),
        item("Records out", count(job.recordsOut), "out"),
        item("Parallelism", count(job.parallelism), "parallelism"),
        item("Checkpoints", `${count(c.completed)} completed, ${count(c.failed)} failed`, "checkpoints"),
        item("Last checkpoint", c.lastCompletedAt ? `#${c.lastId} · ${ago(c.lastCompletedAt)} · ${oneDecimal.format(c.lastDurationMs)} ms · ${bytes(c.lastSizeBytes)}` : "none yet", "last-checkpoint"),
        item("Restarts", count(job.restarts), "restarts"),
        item("Late drops", count(job.lateDropped), "late"),
        item("Dead letters", count(job.deadLetters), "dead-letters"),
        c.restoredFrom ? item("Restored from", c.restoredFrom, "restored-from") : null,
        c.lastError ? item("Last checkpoint error", c.lastError, "checkpoint-error") : null,
      );
    },

    renderOperators(job) {
      const rows = (job.operators || []).map((op) => {
        const fill = op.queueCapacity > 0 ? op.queued / op.queueCapacity : null;
        const bp = this.backpressure.has(op.id) ? this.backpressure.get(op.id) : null;
        return h(
          "tr",
          { "data-operator-id": op.id },
          h("td", {}, op.name),
          h("td", { class: "muted" }, op.kind),
          h("td", { class: "num" }, count(op.parallelism)),
          h("td", { class: "num" }, rate(op.recordsInPerSecond)),
          h("td", { class: "num" }, rate(op.recordsOutPerSecond)),
          h("td", { class: "num" }, count(op.recordsIn)),
          h("td", { class: "num" }, count(op.recordsOut)),
          h("td", { class: "num" }, fill === null ? "–" : `${count(op.queued)}/${count(op.queueCapacity)} (${percent(fill)})`),
          h("td", { class: "num" }, percent(bp)),
          h("td", { class: op.lateDropped > 0 ? "num bad-text" : "num" }, count(op.lateDropped)),
          h("td", { class: op.deadLetters > 0 ? "num bad-text" : "num" }, count(op.deadLetters)),
        );
      });
      replaceChildren($("operators-table").tBodies[0], rows);
    },

    renderParams(params) {
      const names = Object.keys(params).sort();
      replaceChildren(
        $("job-params").tBodies[0],
        names.map((name) => h("tr", {}, h("th", { class: "mono" }, name), h("td", { class: "mono" }, params[name]))),
      );
      $("job-params").hidden = names.length === 0;
      $("job-params-empty").hidden = names.length > 0;
    },

    async act(kind) {
      const job = this.job;
      if (!job) return;
      const questions = {
        savepoint: ["Take a savepoint?", `A savepoint of job '${job.name}' is written to the daemon's savepoints directory; the job goes on.`, "Take savepoint"],
        stop: ["Stop the job?", `Job '${job.name}' stops for good: it stays listed as stopped, with its counters and checkpoints, and is not resumed when the daemon restarts.`, "Stop"],
        delete: ["Delete the job?", `Job '${job.name}' is stopped if it runs, and its directory (source, checkpoints, ingest logs) is deleted. This cannot be undone.`, "Delete"],
      };
      const [title, text, verb] = questions[kind];
      if (!(await confirmAction(title, text, verb))) return;
      const path = `/v1/jobs/${encodeURIComponent(job.id)}`;
      const button = $(`job-${kind}`);
      button.disabled = true;
      try {
        if (kind === "savepoint") {
          const answer = await api.request("POST", `${path}/savepoint`);
          notice(`Savepoint written: ${answer.savepoint}`);
        } else if (kind === "stop") {
          const answer = await api.request("POST", `${path}/stop`);
          notice(`Job '${job.name}' is ${answer.status}.`);
        } else {
          // No more polls of a job that is about to vanish (each would end in a 404).
          poller.stop();
          await api.request("DELETE", path);
          notice(`Job '${job.name}' was deleted.`);
          location.hash = "#/";
        }
      } catch (e) {
        if (!(e instanceof AuthError)) notice(`${verb} failed: ${e.message}`, true);
        if (kind === "delete") poller.start(() => this.poll());
      } finally {
        button.disabled = false;
      }
    },

    init() {
      $("job-savepoint").addEventListener("click", () => this.act("savepoint"));
      $("job-stop").addEventListener("click", () => this.act("stop"));
      $("job-delete").addEventListener("click", () => this.act("delete"));
    },
  };

  // ---------------------------------------------------------------------------------------
  // The operator graph: the plan's operators in columns by depth (sources left), its edges as
  // curves, chained ones thin and grey, exchanges thick and labelled with their kind.

  const NODE_W = 200;
  const NODE_H = 104;
  const GAP_X = 90;
  const GAP_Y = 28;
  const PAD = 16;

  function layoutGraph(operators, edges) {
    const ids = operators.map((op) => op.id);
    const inputs = new Map(ids.map((id) => [id, []]));
    for (const e of edges) if (inputs.has(e.to) && inputs.has(e.from)) inputs.get(e.to).push(e.from);
    const depth = new Map();
    const depthOf = (id, seen = new Set()) => {
      if (depth.has(id)) return depth.get(id);
      if (seen.has(id)) return 0; // a cycle cannot happen in a plan; do not loop if it did
      seen.add(id);
      const d = inputs.get(id).reduce((m, from) => Math.max(m, depthOf(from, seen) + 1), 0);
      depth.set(id, d);
      return d;
    };
    ids.forEach((id) => depthOf(id));
    const columns = [];
    for (const id of ids) {
      const d = depth.get(id);
      (columns[d] = columns[d] || []).push(id);
    }
    // Order each column by the mean row of its inputs, so that lines cross less.
    const row = new Map();
    columns.forEach((column, c) => {
      if (c > 0) {
        const key = (id) => {
          const rows = inputs.get(id).map((from) => row.get(from)).filter((r) => r !== undefined);
          return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : 0;
        };
        column.sort((a, b) => key(a) - key(b) || a - b);
      }
      column.forEach((id, r) => row.set(id, r));
    });
    const tallest = Math.max(1, ...columns.map((column) => column.length));
    const position = new Map();
    columns.forEach((column, c) => {
      const offset = ((tallest - column.length) * (NODE_H + GAP_Y)) / 2;
      column.forEach((id, r) => {
        position.set(id, { x: PAD + c * (NODE_W + GAP_X), y: PAD + offset + r * (NODE_H + GAP_Y) });
      });
    });
    return {
      position,
      width: PAD * 2 + columns.length * NODE_W + Math.max(0, columns.length - 1) * GAP_X,
      height: PAD * 2 + tallest * NODE_H + (tallest - 1) * GAP_Y,
    };
  }

  function truncate(text, max) {
    return text.length > max ? `${text.slice(0, max - 1)}…` : text;
  }

  function drawGraph(svg, job, backpressure) {
    const operators = job.operators || [];
    const edges = job.edges || [];
    if (operators.length === 0) {
      replaceChildren(svg, s("text", { x: 16, y: 28, class: "node-kind" }, "No operators yet: the job has not started."));
      svg.setAttribute("viewBox", "0 0 400 44");
      svg.setAttribute("width", 400);
      svg.setAttribute("height", 44);
      return;
    }
    const { position, width, height } = layoutGraph(operators, edges);
    const parts = [
      s(
        "defs",
        {},
        s("marker", { id: "arrow-chained", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
          s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow" })),
        s("marker", { id: "arrow-exchange", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" },
          s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow exchange" })),
      ),
    ];
    // Edges between the same two operators (main and side outputs) fan out a little.
    const seen = new Map();
    for (const e of edges) {
      const from = position.get(e.from);
      const to = position.get(e.to);
      if (!from || !to) continue;
      const pair = `${e.from}-${e.to}`;
      const n = seen.get(pair) || 0;
      seen.set(pair, n + 1);
      const shift = n * 14;
      const x1 = from.x + NODE_W;
      const y1 = from.y + NODE_H / 2 + shift;
      const x2 = to.x - 2;
      const y2 = to.y + NODE_H / 2 + shift;
      const bend = Math.max(30, (x2 - x1) / 2);
      const side = e.output && e.output !== "main";
      const kind = e.chained ? "chained" : "exchange";
      const label = e.chained ? "chained" : e.exchange;
      parts.push(
        s("path", {
          d: `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`,
          class: `edge ${kind}${side ? " side" : ""}`,
          "marker-end": `url(#arrow-${kind})`,
          "data-from": e.from,
          "data-to": e.to,
          "data-exchange": e.exchange,
          "data-chained": e.chained ? "true" : "false",
        }),
        s("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 6, "text-anchor": "middle", class: `edge-label ${kind}` },
          side ? `${label} (${e.output})` : label),
      );
    }
    for (const op of operators) {
      const { x, y } = position.get(op.id);
      const fill = op.queueCapacity > 0 ? op.queued / op.queueCapacity : null;
      const bp = backpressure.has(op.id) ? backpressure.get(op.id) : null;
      const hottest = Math.max(fill || 0, bp || 0);
      const barW = (NODE_W - 24) / 2 - 4;
      const bar = (bx, label, value) => [
        s("rect", { x: bx, y: y + 78, width: barW, height: 8, rx: 2, class: "bar-back" }),
        value === null
          ? null
          : s("rect", { x: bx, y: y + 78, width: Math.max(2, barW * Math.min(1, value)), height: 8, rx: 2, fill: heat(value), class: "bar" }),
        s("text", { x: bx, y: y + 98, class: "bar-label" }, `${label} ${value === null ? "–" : percent(value)}`),
      ];
      const drops = [];
      if (op.lateDropped > 0) drops.push(`late ${count(op.lateDropped)}`);
      if (op.deadLetters > 0) drops.push(`dead ${count(op.deadLetters)}`);
      parts.push(
        s(
          "g",
          { class: "node", "data-operator-id": op.id, "data-name": op.name },
          s("title", {}, `${op.name} (${op.kind}) ×${op.parallelism}\nrecords in ${count(op.recordsIn)}, out ${count(op.recordsOut)}`),
          s("rect", { x, y, width: NODE_W, height: NODE_H, rx: 6, class: "node-box", stroke: heat(hottest) }),
          s("text", { x: x + 12, y: y + 20, class: "node-name" }, truncate(op.name, 24)),
          s("text", { x: x + NODE_W - 12, y: y + 20, "text-anchor": "end", class: "node-kind" }, `×${op.parallelism}`),
          s("text", { x: x + 12, y: y + 36, class: "node-kind" }, truncate(op.kind, 30)),
          s("text", { x: x + 12, y: y + 54, class: "node-rate" }, `in ${rate(op.recordsInPerSecond)}/s · out ${rate(op.recordsOutPerSecond)}/s`),
          drops.length ? s("text", { x: x + 12, y: y + 70, class: "node-drops" }, drops.join(" · ")) : null,
          bar(x + 12, "queue", fill),
          bar(x + 12 + barW + 8, "backpressure", bp),
        ),
      );
    }
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    replaceChildren(svg, parts);
  }

  // ---------------------------------------------------------------------------------------
  // Submitting a job

  const submitView = {
    show() {
      poller.stop();
      if ($("submit-params").children.length === 0) this.addParam();
    },
    addParam(name = "", value = "") {
      const row = h(
        "div",
        { class: "param-row" },
        h("input", { type: "text", class: "param-name", placeholder: "name", value: name }),
        h("input", { type: "text", class: "param-value", placeholder: "value", value: value }),
        h("button", { type: "button", class: "link", title: "remove", onclick: () => row.remove() }, "remove"),
      );
      $("submit-params").append(row);
    },
    async readFile() {
      const file = $("submit-file").files[0];
      if (!file) return;
      $("submit-source").value = await file.text();
      const base = file.name.replace(/\.(m?ts|m?js)$/, "");
      $("submit-language").value = /\.m?js$/.test(file.name) ? "js" : "ts";
      if (!$("submit-name").value && /^[A-Za-z0-9_.-]{1,64}$/.test(base)) $("submit-name").value = base;
    },
    async submit(event) {
      event.preventDefault();
      const error = $("submit-error");
      error.hidden = true;
      const source = $("submit-source").value;
      if (!source.trim()) {
        error.textContent = "Choose a job file or paste its source.";
        error.hidden = false;
        return;
      }
      const envelope = { source, language: $("submit-language").value, params: {} };
      const name = $("submit-name").value.trim();
      if (name) envelope.name = name;
      const parallelism = $("submit-parallelism").value.trim();
      if (parallelism) envelope.parallelism = Number(parallelism);
      for (const row of $("submit-params").querySelectorAll(".param-row")) {
        const key = row.querySelector(".param-name").value.trim();
        if (key) envelope.params[key] = row.querySelector(".param-value").value;
      }
      const from = $("submit-from").value.trim();
      if (from) {
        envelope.from = from;
        envelope.allowNonRestoredState = $("submit-allow-non-restored").checked;
      }
      const button = $("submit-button");
      button.disabled = true;
      button.textContent = "Submitting…";
      try {
        const job = await api.request("POST", "/v1/jobs", {
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(envelope),
        });
        notice(`Job '${job.name}' submitted (${job.status}).`);
        $("submit-form").reset();
        replaceChildren($("submit-params"));
        location.hash = `#/jobs/${encodeURIComponent(job.id)}`;
      } catch (e) {
        if (!(e instanceof AuthError)) {
          error.textContent = `The daemon refused the job: ${e.message}`;
          error.hidden = false;
        }
      } finally {
        button.disabled = false;
        button.textContent = "Submit";
      }
    },
    init() {
      $("submit-file").addEventListener("change", () => this.readFile());
      $("submit-add-param").addEventListener("click", () => this.addParam());
      $("submit-form").addEventListener("submit", (event) => this.submit(event));
    },
  };

  // ---------------------------------------------------------------------------------------
  // Routing by the URL's hash

  const router = {
    route() {
      const hash = location.hash || "#/";
      const job = /^#\/jobs\/([^/]+)$/.exec(hash);
      const view = job ? "job" : hash === "#/submit" ? "submit" : "jobs";
      for (const name of ["jobs", "job", "submit"]) $(`view-${name}`).hidden = name !== view;
      $("nav-jobs").classList.toggle("active", view !== "submit");
      $("nav-submit").classList.toggle("active", view === "submit");
      return { view, id: job ? decodeURIComponent(job[1]) : null };
    },
    refresh() {
      const { view, id } = this.route();
      if (view === "job") jobView.show(id);
      else if (view === "submit") submitView.show();
      else jobsView.show();
    },
    init() {
      window.addEventListener("hashchange", () => {
        notice("");
        this.refresh();
      });
    },
  };

  tokenDialog.init();
  jobView.init();
  submitView.init();
  router.init();
  router.refresh();
})();
