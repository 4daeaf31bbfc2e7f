// The JavaScript half of JsProcessOperator (js_process_operator.hpp): keyed process functions
// with their state, timers and TTL in the isolate. Evaluated in every worker after the rolling
// helpers (js_job.cpp); the functions are added to the same helpers object.
//
// State: { spec, keys: Map(key id -> entry), watermark, etimers / ptimers: Map(time -> Set(key
//          id)), eheap (event times, a min-heap), newP (processing times the host must
//          register), out, times, ports, json, mark, cur, curTs, domain, now }
//   spec:  { element (udf), element2 (a co-process function's processElement2, or -1), timer
//            (udf or -1), ttl (ms, 0: none), tags: [side output names] }
//   entry: { key, kid, v: {name: value}, l: {name: [..]}, m: {name: Map}, t (last write, ms),
//            et: Set(event times), pt: Set(processing times) }; v, l, m, et and pt are shared
//            empty ones (NONE, NO_TIMES) until first written
// Outputs: port 0 is the main output, port i + 1 the side output tags[i]; objects are copied
// as JSON text when emitted (the function may change them afterwards).
#pragma once

#include <string_view>

namespace lightflus::js {

constexpr std::string_view kProcessHelpers = R"js((function (lf, h) {
  "use strict";
  const udfs = lf.__udfs;
  const pos = lf.__chainPosition;
  const idOf = h.idOf, toJson = h.toJson, pack = h.pack;
  const states = new Map();
  // A key's state holders and timer sets are made on first write: until then these shared
  // empty ones stand in (never written to: see own and timerSet), so that a key costs few
  // objects (a keyed join keeps many keys with one kind of state each).
  const NONE = Object.freeze(Object.create(null));
  const NO_TIMES = new Set();
  const own = (e, field) => (e[field] === NONE ? (e[field] = Object.create(null)) : e[field]);
  const timerSet = (e, field) => (e[field] === NO_TIMES ? (e[field] = new Set()) : e[field]);

  // A min-heap of numbers.
  const heapPush = (a, x) => {
    let i = a.length;
    a.push(x);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= x) break;
      a[i] = a[p]; i = p;
    }
    a[i] = x;
  };
  const heapPop = (a) => {
    const top = a[0], last = a.pop();
    if (a.length > 0) {
      let i = 0;
      const n = a.length;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && a[c + 1] < a[c]) c++;
        if (a[c] >= last) break;
        a[i] = a[c]; i = c;
      }
      a[i] = last;
    }
    return top;
  };

  const emit = (st, v, port) => emitAt(st, v, port, st.curTs);
  // Emits with the timestamp `ts` (undefined: none).
  const emitAt = (st, v, port, ts) => {
    if (st.json) {
      st.out.push(toJson(v));
    } else if (typeof v === "object" && v !== null) {
      const out = st.out;
      for (let j = 0; j < out.length; j++) out[j] = toJson(out[j]);
      st.json = true;
      out.push(toJson(v));
    } else {
      st.out.push(v);
    }
    st.times.push(ts === undefined ? NaN : ts);
    st.ports.push(port);
  };
  // [outputs (packed), Float64Array times (NaN: none), Uint8Array ports, new processing times]
  const take = (st) => {
    const r = [pack(st.out, st.json), Float64Array.from(st.times), Uint8Array.from(st.ports),
               st.newP];
    st.out = []; st.times = []; st.ports = []; st.json = false; st.newP = [];
    return r;
  };

  const empty = (e) => {
    for (const _ in e.v) return false;
    for (const _ in e.l) return false;
    for (const _ in e.m) return false;
    return e.et.size === 0 && e.pt.size === 0;
  };
  const expire = (e) => { e.v = NONE; e.l = NONE; e.m = NONE; };
  // The current key's entry, its state cleared first when the TTL ran out.
  const live = (st) => {
    const e = st.cur;
    if (st.spec.ttl > 0 && e.t + st.spec.ttl <= st.now) {
      expire(e);
      e.t = st.now;
    }
    return e;
  };
  const written = (st) => {
    const e = live(st);
    e.t = st.now;
    return e;
  };
  const entryOf = (st, key) => {
    const kid = idOf(key);
    let e = st.keys.get(kid);
    if (e === undefined) {
      e = { key, kid, v: NONE, l: NONE, m: NONE,
            t: st.now, et: NO_TIMES, pt: NO_TIMES };
      st.keys.set(kid, e);
    }
    return e;
  };
  const finite = (t, what) => {
    if (typeof t !== "number" || !Number.isFinite(t)) {
      throw new TypeError(what + " expects a time in milliseconds (a finite number), got " + String(t));
    }
    return Math.floor(t);
  };

  const makeContext = (st) => {
    const values = new Map(), lists = new Map(), maps = new Map();
    const name = (n, what) => {
      if (typeof n !== "string" || n.length === 0) {
        throw new TypeError("ctx.state." + what + "() expects a state name (a non-empty string), got " + String(n));
      }
      return n;
    };
    const value = (n) => {
      let s = values.get(n);
      if (s === undefined) {
        name(n, "value");
        s = {
          value: () => live(st).v[n],
          update: (x) => { own(written(st), "v")[n] = x; },
          clear: () => { delete live(st).v[n]; },
        };
        values.set(n, s);
      }
      return s;
    };
    const list = (n) => {
      let s = lists.get(n);
      if (s === undefined) {
        name(n, "list");
        const at = () => { const l = own(written(st), "l"); return l[n] || (l[n] = []); };
        s = {
          get: () => { const l = live(st).l[n]; return l === undefined ? [] : l.slice(); },
          add: (x) => { at().push(x); },
          addAll: (xs) => { const l = at(); for (const x of xs) l.push(x); },
          update: (xs) => { own(written(st), "l")[n] = Array.from(xs); },
          clear: () => { delete live(st).l[n]; },
        };
        lists.set(n, s);
      }
      return s;
    };
    const map = (n) => {
      let s = maps.get(n);
      if (s === undefined) {
        name(n, "map");
        const read = () => live(st).m[n];
        const at = () => { const m = own(written(st), "m"); return m[n] || (m[n] = new Map()); };
        s = {
          get: (k) => { const m = read(); return m === undefined ? undefined : m.get(k); },
          put: (k, x) => { at().set(k, x); },
          remove: (k) => { const m = read(); if (m !== undefined) { m.delete(k); if (m.size === 0) delete live(st).m[n]; } },
          contains: (k) => { const m = read(); return m !== undefined && m.has(k); },
          keys: () => { const m = read(); return m === undefined ? [] : Array.from(m.keys()); },
          values: () => { const m = read(); return m === undefined ? [] : Array.from(m.values()); },
          entries: () => { const m = read(); return m === undefined ? [] : Array.from(m.entries()); },
          isEmpty: () => { const m = read(); return m === undefined || m.size === 0; },
          clear: () => { delete live(st).m[n]; },
        };
        maps.set(n, s);
      }
      return s;
    };
    const state = { value, list, map, valueState: value, listState: list, mapState: map };
    const timers = {
      currentWatermark: () => st.watermark,
      currentProcessingTime: () => Date.now(),
      registerEventTimeTimer: (time) => {
        const t = finite(time, "registerEventTimeTimer()"), e = st.cur;
        if (e.et.has(t)) return;
        timerSet(e, "et").add(t);
        let keys = st.etimers.get(t);
        if (keys === undefined) { keys = new Set(); st.etimers.set(t, keys); heapPush(st.eheap, t); }
        keys.add(e.kid);
      },
      deleteEventTimeTimer: (time) => {
        const t = finite(time, "deleteEventTimeTimer()"), e = st.cur;
        if (!e.et.delete(t)) return;
        const keys = st.etimers.get(t);
        if (keys !== undefined) keys.delete(e.kid);
      },
      registerProcessingTimeTimer: (time) => {
        const t = finite(time, "registerProcessingTimeTimer()"), e = st.cur;
        if (e.pt.has(t)) return;
        timerSet(e, "pt").add(t);
        let keys = st.ptimers.get(t);
        if (keys === undefined) { keys = new Set(); st.ptimers.set(t, keys); st.newP.push(t); }
        keys.add(e.kid);
      },
      deleteProcessingTimeTimer: (time) => {
        const t = finite(time, "deleteProcessingTimeTimer()"), e = st.cur;
        if (!e.pt.delete(t)) return;
        const keys = st.ptimers.get(t);
        if (keys !== undefined) keys.delete(e.kid);
      },
    };
    return {
      getCurrentKey: () => st.cur.key,
      get key() { return st.cur.key; },
      timestamp: () => st.curTs,
      state,
      timerService: () => timers,
      timeDomain: () => st.domain,
      output: (tag, v) => {
        const id = tag !== null && typeof tag === "object" ? tag.id : tag;
        const port = st.tagPort.get(id);
        if (port === undefined) {
          if (typeof id !== "string") throw new TypeError("ctx.output() expects an OutputTag, got " + String(tag));
          return;  // no getSideOutput(tag) in the job: nobody reads it
        }
        emit(st, v, port);
      },
    };
  };

  h.processNew = (id, spec) => {
    const st = { spec, keys: new Map(), watermark: -Infinity, etimers: new Map(), eheap: [],
                 ptimers: new Map(), newP: [], out: [], times: [], ports: [], json: false,
                 mark: 0, cur: null, curTs: undefined, domain: "event", now: Date.now(),
                 lastSweep: Date.now() };
    st.tagPort = new Map(spec.tags.map((t, i) => [t, i + 1]));
    st.ctx = makeContext(st);
    // __collectAt: the joins built on co-process functions (dataflow.ts) stamp their outputs.
    st.collector = { collect: (v) => emit(st, v, 0),
                     __collectAt: (v, ts) => emitAt(st, v, 0, ts) };
    states.set(id, st);
  };
  h.processDrop = (id) => { states.delete(id); };

  // Removes keys whose state expired and that have no timers, at most once per TTL period.
  const sweep = (st) => {
    const ttl = st.spec.ttl;
    if (ttl <= 0 || st.now - st.lastSweep < Math.min(ttl, 60000)) return;
    st.lastSweep = st.now;
    for (const [kid, e] of st.keys) {
      if (e.t + ttl <= st.now) expire(e);
      if (empty(e)) st.keys.delete(kid);
    }
  };

  // Adds elements [from, n) as rollingAdd does; times: Float64Array of their timestamps (NaN:
  // none). `side` 1: the elements of a co-process function's second input (processElement2).
  h.processAdd = (id, keys, same, values, times, from, side) => {
    const st = states.get(id), ttl = st.spec.ttl;
    const udf = side === 1 ? st.spec.element2 : st.spec.element, f = udfs[udf];
    st.now = Date.now();
    st.domain = "event";
    pos.udf = udf; pos.kind = "process"; pos.output = st.out;
    for (let i = from, n = values.length; i < n; i++) {
      pos.index = i;
      st.mark = st.out.length;
      if (ttl > 0) st.now = Date.now();
      const v = values[i];
      st.cur = entryOf(st, same[i] === 1 ? v : keys[i]);
      const t = times[i];
      st.curTs = t !== t ? undefined : t;
      f(v, st.ctx, st.collector);
      if (empty(st.cur)) st.keys.delete(st.cur.kid);  // a key without state costs nothing
    }
    pos.index = -1;
    st.cur = null;
    sweep(st);
    return take(st);
  };
  h.processTakeBefore = (id) => {
    const st = states.get(id);
    st.out.length = st.mark; st.times.length = st.mark; st.ports.length = st.mark;
    return take(st);
  };

  const fireKey = (st, kid, t, domain) => {
    const e = st.keys.get(kid);
    if (e === undefined) return;
    if (!(domain === "event" ? e.et : e.pt).delete(t)) return;
    if (st.spec.timer >= 0) {
      st.cur = e; st.curTs = t; st.domain = domain;
      pos.udf = st.spec.timer;
      udfs[st.spec.timer](t, st.ctx, st.collector);
    }
    if (empty(e)) st.keys.delete(kid);
  };
  // Fires the event-time timers up to the watermark `upTo`, or the processing-time timers of
  // `upTo` (`processing`).
  h.processFire = (id, upTo, processing) => {
    const st = states.get(id);
    st.now = Date.now();
    pos.kind = "onTimer"; pos.index = -1;  // a timer has no record: a throw fails the job
    if (processing) {
      const kids = st.ptimers.get(upTo);
      st.ptimers.delete(upTo);
      if (kids !== undefined) for (const kid of kids) fireKey(st, kid, upTo, "processing");
    } else {
      if (upTo > st.watermark) st.watermark = upTo;
      while (st.eheap.length > 0 && st.eheap[0] <= upTo) {
        const t = heapPop(st.eheap);
        const kids = st.etimers.get(t);
        st.etimers.delete(t);
        if (kids !== undefined) for (const kid of kids) fireKey(st, kid, t, "event");
      }
    }
    st.cur = null;
    return take(st);
  };

  // The state as [keys, states, event times, processing times, last writes]; states[i]:
  // { v, l, m: {name: [[key, value]...]} }.
  h.processSnapshot = (id) => {
    const st = states.get(id), keys = [], sts = [], ets = [], pts = [], ts = [];
    for (const e of st.keys.values()) {
      const m = {};
      for (const n in e.m) m[n] = Array.from(e.m[n].entries());
      keys.push(e.key);
      sts.push({ v: e.v, l: e.l, m });
      ets.push(Array.from(e.et));
      pts.push(Array.from(e.pt));
      ts.push(e.t);
    }
    return [keys, sts, ets, pts, ts];
  };
  h.processRestore = (id, keys, sts, ets, pts, ts) => {
    const st = states.get(id);
    for (let i = 0; i < keys.length; i++) {
      const e = entryOf(st, keys[i]), s = sts[i] || {};
      Object.assign(own(e, "v"), s.v || {});
      Object.assign(own(e, "l"), s.l || {});
      for (const n in s.m || {}) own(e, "m")[n] = new Map(s.m[n]);
      e.t = ts[i];
      st.cur = e;
      for (const t of ets[i]) st.ctx.timerService().registerEventTimeTimer(t);
      for (const t of pts[i]) st.ctx.timerService().registerProcessingTimeTimer(t);
    }
    st.cur = null;
    return take(st);
  };
}))js";

}  // namespace lightflus::js
