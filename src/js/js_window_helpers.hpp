// The JavaScript half of JsWindowOperator (js_window_operator.hpp): keyed tumbling and sliding
// windows whose accumulators live in the isolate, so that an element crosses into V8 once (and
// not at all after a fused chain and keyBy). Evaluated in every worker after the host helpers
// (js_job.cpp); the functions are added to the same helpers object.
//
// The semantics are the engine's WindowOperator's (include/lightflus/window.hpp) for aligned
// windows: an element is late when its window's end plus the allowed lateness has passed the
// watermark (one between the windows of a sliding window whose slide is longer than its size
// only when its own time plus the lateness has: else it is dropped uncounted); a window fires
// when the watermark passes its end (processing time: when the clock does); with allowed
// lateness, a fired window stays until end + lateness, and each late element fires its key's
// result again; the end of a bounded input fires everything left, in time order.
//
// State: { spec, wins: Map(start -> window), watermark, last, out, json, times, late, created }
//   window: { start, end, max, keys: Map(key id -> entry), passed }  (passed: fired at its end)
//   entry:  { key, acc, has, fired, dirty }
// Results that are objects are copied as JSON at once (jobs mutate and return accumulators).
#pragma once

#include <string_view>

namespace lightflus::js {

constexpr std::string_view kWindowHelpers = R"js((function (lf, h) {
  "use strict";
  const udfs = lf.__udfs;
  const pos = lf.__chainPosition;
  const startOf = (ts, offset, size) => {
    let r = (ts - offset) % size;
    if (r < 0) r += size;
    return ts - r;
  };
  // Object keys compare by content, whatever the order of their properties.
  const sorted = (k, v) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const o = {};
    for (const name of Object.keys(v).sort()) o[name] = v[name];
    return o;
  };
  const idOf = (k) => {
    if (typeof k === "string") return k.length > 0 && k.charCodeAt(0) === 0 ? "\u0000s" + k : k;
    if (typeof k === "number") return k;
    return "\u0000" + JSON.stringify(k, sorted);
  };
  const windowAt = (st, start) => {
    let w = st.wins.get(start);
    if (w === undefined) {
      const s = st.spec, max = start + s.size - 1;
      w = { start, end: start + s.size, max, keys: new Map(), passed: s.event && max <= st.watermark };
      st.wins.set(start, w);
      st.created.push(max);
    }
    return w;
  };
  // What a window function sees of its window (Flink's TimeWindow).
  class TimeWindow {
    constructor(start, end) { this.start = start; this.end = end; }
    maxTimestamp() { return this.end - 1; }
    getStart() { return this.start; }
    getEnd() { return this.end; }
    toJSON() { return { start: this.start, end: this.end }; }
  }
  h.TimeWindow = TimeWindow;
  const push = (st, w, r) => {
    const i = st.times.length;
    st.times.push(w.max);  // results carry the window's maxTimestamp(), as in Flink
    if (typeof r === "object" && r !== null) { st.json[i] = JSON.stringify(r); st.out.push(undefined); }
    else st.out.push(r);
  };
  const result = (st, w, e) => {
    if (!e.has) return;
    const s = st.spec, index = pos.index;
    pos.index = -1;  // a failing getResult is not about one record: the job fails
    let r = e.acc;
    if (s.reduce < 0) { pos.udf = s.result; r = udfs[s.result](e.acc); }
    if (s.wfn >= 0) {
      pos.udf = s.wfn;
      r = udfs[s.wfn](e.key, new TimeWindow(w.start, w.end), r);
      if (s.wflat) {
        if (r !== undefined && r !== null) for (const item of r) push(st, w, item);
      } else {
        push(st, w, r);
      }
    } else {
      push(st, w, r);
    }
    pos.index = index;
    e.fired = true;
    e.dirty = false;
  };
  // Folds v into an accumulator holder e ({ acc, has }): an element (add, or reduce), or, with
  // spec.partials, a combiner's partial { n, acc } (merge, or reduce).
  const fold = (s, e, v) => {
    if (s.partials) {
      const a = v.acc;
      if (!e.has) e.acc = a;
      else if (s.reduce >= 0) { pos.udf = s.reduce; e.acc = udfs[s.reduce](e.acc, a); }
      else { pos.udf = s.merge; e.acc = udfs[s.merge](e.acc, a); }
    } else if (s.reduce >= 0) {
      pos.udf = s.reduce;
      e.acc = e.has ? udfs[s.reduce](e.acc, v) : v;
    } else {
      if (!e.has) { pos.udf = s.create; e.acc = udfs[s.create](); }
      pos.udf = s.add;
      e.acc = udfs[s.add](v, e.acc);
    }
    e.has = true;
  };
  const addTo = (st, w, key, v) => {
    const id = idOf(key);
    let e = w.keys.get(id);
    if (e === undefined) {
      e = { key, acc: undefined, has: false, fired: false, dirty: false };
      w.keys.set(id, e);
    }
    fold(st.spec, e, v);
    if (w.passed) result(st, w, e);  // late, within the allowed lateness
    else if (e.fired) e.dirty = true;
  };
  const late = (st, start) => st.spec.event && start + st.spec.size - 1 + st.spec.lateness <= st.watermark;
  // A late element: to the late-data side output when there is one, else counted as dropped.
  const tooLate = (st, v, ts, weight) => {
    if (st.spec.lateOut) { st.lateValues.push(v); st.lateTimes.push(ts); }
    else st.late += weight;
  };
  const assign = (st, ts, key, v) => {
    const s = st.spec, weight = s.partials ? v.n : 1;
    if (!s.sliding) {
      const start = startOf(ts, s.offset, s.size);
      let w = st.last;
      if (w === null || w.start !== start) {
        if (late(st, start)) { tooLate(st, v, ts, weight); return; }
        w = st.last = windowAt(st, start);
      }
      addTo(st, w, key, v);
      return;
    }
    let assigned = false;
    for (let start = startOf(ts, s.offset, s.slide); start > ts - s.size; start -= s.slide) {
      if (late(st, start)) continue;
      assigned = true;
      addTo(st, windowAt(st, start), key, v);
    }
    // In no window: late by its own time, or between windows and dropped (Flink's rule). A
    // combiner's partial of such elements has their one time (combineAdd).
    if (!assigned && s.event && ts + s.lateness <= st.watermark) tooLate(st, v, ts, weight);
  };
  // What a call produced: undefined, or [results, json, times, late, created, late values,
  // their times].
  const take = (st) => {
    if (st.out.length === 0 && st.late === 0 && st.created.length === 0 &&
        st.lateValues.length === 0) return undefined;
    const r = [st.out, st.json, st.times, st.late, st.created, st.lateValues, st.lateTimes];
    st.out = []; st.json = []; st.times = []; st.late = 0; st.created = [];
    st.lateValues = []; st.lateTimes = [];
    return r;
  };
  const begin = (udf, kind) => {
    pos.udf = udf; pos.kind = kind; pos.output = []; pos.index = -1; pos.outputLength = 0;
  };

  h.idOf = idOf;  // shared with the rolling helpers (js_rolling_helpers.hpp)

  // The states of this isolate's window operators, by the id the host gave them.
  const states = new Map();
  // spec: { sliding, size, slide, offset, event, lateness, reduce (udf or -1), create, add,
  // result, merge, partials (the input is a combiner's partials), wfn (window function udf or
  // -1), wflat (it returns several outputs), lateOut (late elements go to the side output) }.
  h.windowNew = (id, spec) => {
    states.set(id, { spec, wins: new Map(), watermark: -Infinity, last: null,
                     out: [], json: [], times: [], late: 0, created: [], lateValues: [],
                     lateTimes: [] });
  };
  h.windowDrop = (id) => { states.delete(id); };
  // Adds elements [from, n): the key of element i is values[i] where same[i] is 1, else
  // keys[i]; its time is times[i] (event time) or now. pos.index names a failing element.
  h.windowAdd = (id, keys, same, values, times, now, from) => {
    const st = states.get(id), s = st.spec;
    begin(s.reduce >= 0 ? s.reduce : s.add, "window");
    for (let i = from, n = values.length; i < n; i++) {
      pos.index = i;
      // A partial comes as JSON text: one string across the exchange instead of an object.
      const v = s.partials ? JSON.parse(values[i]) : values[i];
      assign(st, times === undefined ? now : times[i], same[i] === 1 ? v : keys[i], v);
    }
    pos.index = -1;
    return take(st);
  };
  // A fused chain and keyBy in front of the window: [keys, same, outputs, times] for windowAdd
  // (times: the event time of each output's input). Changes no window state, so the host can
  // redo a batch step by step when it throws.
  h.windowChainKeys = (chain, keyUdf, input, origins, times) => {
    const out = chain(input, origins);
    const f = udfs[keyUdf], n = out.length, keys = new Array(n), same = new Uint8Array(n);
    begin(keyUdf, "keyBy");
    pos.output = keys;
    for (let i = 0; i < n; i++) {
      pos.index = i;
      const k = f(out[i]);
      if (k === out[i]) same[i] = 1; else keys[i] = k;
    }
    pos.index = -1;
    let outTimes;
    if (times !== undefined) {
      outTimes = new Float64Array(n);
      for (let i = 0; i < n; i++) outTimes[i] = times[origins[i]];
    }
    return [keys, same, out, outTimes];
  };
  // Fires what is due at `upTo` (the watermark, or the processing-time timer's time), in time
  // order; `end`: the input ended, fire everything left.
  h.windowFire = (id, upTo, end) => {
    const st = states.get(id), s = st.spec;
    if (s.event && upTo > st.watermark) st.watermark = upTo;
    begin(s.reduce >= 0 ? s.reduce : s.result, "window");
    const keep = s.event && s.lateness > 0 && !end;
    const due = (w) => (w.passed ? w.max + s.lateness : w.max);
    const fire = [];
    for (const w of st.wins.values()) if (end || due(w) <= upTo) fire.push(w);
    fire.sort((a, b) => due(a) - due(b));
    for (const w of fire) {
      if (!w.passed) {
        for (const e of w.keys.values()) result(st, w, e);
        w.passed = true;
        if (keep && w.max + s.lateness > upTo) continue;  // stays for late elements
      } else {
        for (const e of w.keys.values()) if (e.dirty) result(st, w, e);
      }
      st.wins.delete(w.start);
      if (st.last === w) st.last = null;
    }
    return take(st);
  };
  // The combiner before a keyBy exchange: per batch, one partial accumulator per key (and pane:
  // the slice of time whose elements share their windows) instead of one record per element.
  // Its state lasts one batch (combineTake empties it), so it needs no snapshot and may be
  // made again in another isolate.
  const combiners = new Map();
  const gcd = (a, b) => (b === 0 ? a : gcd(b, a % b));
  // The pane of an element at ts: elements of one pane belong to the same windows. Sliding
  // windows cut time at every start and end, so panes are gcd(size, slide) long; an element
  // between windows (slide > size) gets a pane of its own time, for windowAdd's lateness rule.
  const paneOf = (s, ts) => {
    if (!s.sliding) return startOf(ts, s.offset, s.size);
    if (startOf(ts, s.offset, s.slide) + s.size <= ts) return ts;
    return startOf(ts, s.offset, s.pane);
  };
  h.combineNew = (id, spec) => {
    spec.pane = gcd(spec.size, spec.slide);
    combiners.set(id, { spec, panes: new Map() });
  };
  h.combineDrop = (id) => { combiners.delete(id); };
  // As windowAdd; times (event time) place elements in panes.
  h.combineAdd = (id, keys, same, values, times, now, from) => {
    const st = combiners.get(id), s = st.spec;
    begin(s.reduce >= 0 ? s.reduce : s.add, "window");
    for (let i = from, n = values.length; i < n; i++) {
      pos.index = i;
      const v = values[i], key = same[i] === 1 ? v : keys[i];
      const ts = times === undefined ? 0 : times[i];
      const pane = times === undefined ? 0 : paneOf(s, ts);
      let m = st.panes.get(pane);
      if (m === undefined) { m = new Map(); st.panes.set(pane, m); }
      const id = idOf(key);
      let p = m.get(id);
      if (p === undefined) { p = { key, acc: undefined, has: false, n: 0, ts }; m.set(id, p); }
      fold(s, p, v);
      p.n++;
      if (ts > p.ts) p.ts = ts;
    }
    pos.index = -1;
    return undefined;
  };
  // The partials: [keys, partials, times], each partial the JSON text of { n: the count of its
  // elements, acc: the accumulator }; empties the combiner.
  h.combineTake = (id) => {
    const st = combiners.get(id), keys = [], parts = [], times = [];
    for (const m of st.panes.values()) {
      for (const p of m.values()) {
        if (!p.has) continue;
        keys.push(p.key); parts.push(JSON.stringify({ n: p.n, acc: p.acc })); times.push(p.ts);
      }
    }
    st.panes.clear();
    return [keys, parts, times];
  };

  // The state as [starts, passed, sizes, keys, accs, flags] (flags: has 1, fired 2, dirty 4).
  h.windowSnapshot = (id) => {
    const st = states.get(id);
    const starts = [], passed = [], sizes = [], keys = [], accs = [], flags = [];
    for (const w of st.wins.values()) {
      starts.push(w.start); passed.push(w.passed); sizes.push(w.keys.size);
      for (const e of w.keys.values()) {
        keys.push(e.key); accs.push(e.has ? e.acc : null);
        flags.push((e.has ? 1 : 0) | (e.fired ? 2 : 0) | (e.dirty ? 4 : 0));
      }
    }
    return [starts, passed, sizes, keys, accs, flags];
  };
  // Adds state in windowSnapshot's form (the host keeps only the keys this subtask owns).
  h.windowRestore = (id, starts, passed, sizes, keys, accs, flags) => {
    const st = states.get(id);
    let k = 0;
    for (let i = 0; i < starts.length; i++) {
      const w = windowAt(st, starts[i]);
      w.passed = w.passed || passed[i];
      for (let j = 0; j < sizes[i]; j++, k++) {
        const f = flags[k];
        w.keys.set(idOf(keys[k]), { key: keys[k], acc: accs[k], has: (f & 1) !== 0,
                                    fired: (f & 2) !== 0, dirty: (f & 4) !== 0 });
      }
    }
    return take(st);
  };
}))js";

}  // namespace lightflus::js
