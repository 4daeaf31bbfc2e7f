// The JavaScript half of JsRollingCore (js_rolling_operator.hpp): rolling keyed reduce and
// aggregate whose state lives in the isolate, in a Map per operator subtask, and the chain of
// map/flatMap/filter after them, so that an element crosses into V8 once per task and its
// results cross back once, packed. Evaluated in every worker after the window helpers
// (js_job.cpp); the functions are added to the same helpers object.
//
// State: { spec, accs: Map(key id -> { key, acc }), out, keys, origins, mark, pending }
//   spec: { reduce (udf or -1), create, add, result, post: [udf...], postKinds: [0 map,
//           1 flatMap, 2 filter...] }; wantKeys: the host wants each output's key
// Each result goes through the post chain at once: jobs mutate and return their accumulator,
// so a later element must not change an earlier element's output; outputs that are objects
// are copied as JSON text when they are made, for the same reason.
#pragma once

#include <string_view>

namespace lightflus::js {

constexpr std::string_view kRollingHelpers = R"js((function (lf, h) {
  "use strict";
  const udfs = lf.__udfs;
  const pos = lf.__chainPosition;
  const idOf = h.idOf, toJson = h.toJson, pack = h.pack;
  const MAP = 0, FLAT_MAP = 1, FILTER = 2;
  const KIND_NAMES = ["map", "flatMap", "filter"];
  const states = new Map();

  // Key-group blocks (js_blocks.hpp), parsed: their elements as [keys, same (all 0), values,
  // Float64Array of timestamps (NaN: none)].
  h.unblock = (blocks) => {
    let n = 0;
    for (let b = 0; b < blocks.length; b++) n += blocks[b].v.length;
    const keys = new Array(n), values = new Array(n), times = new Float64Array(n);
    let i = 0;
    for (let b = 0; b < blocks.length; b++) {
      const k = blocks[b].k, v = blocks[b].v, t = blocks[b].t;
      for (let j = 0; j < v.length; j++, i++) {
        keys[i] = k[j];
        values[i] = v[j];
        times[i] = t[j] === null ? NaN : t[j];
      }
    }
    return [keys, new Uint8Array(n), values, times];
  };

  h.rollingNew = (id, spec) => {
    states.set(id, { spec, accs: new Map(), out: [], json: false, keys: [], origins: [],
                     mark: 0, pending: undefined, wantKeys: false });
  };
  h.rollingDrop = (id) => { states.delete(id); };

  // v, the result of an element whose key is `key` and whose input is `origin`, through the
  // post chain from `stage` on, into st.out.
  const emit = (st, stage, v, key, origin) => {
    const s = st.spec, post = s.post, kinds = s.postKinds;
    for (let i = stage; i < post.length; i++) {
      const udf = post[i], kind = kinds[i];
      pos.udf = udf;
      pos.kind = KIND_NAMES[kind];
      if (kind === MAP) {
        v = udfs[udf](v);
      } else if (kind === FILTER) {
        if (!udfs[udf](v)) return;
      } else {
        const produced = udfs[udf](v);
        if (Array.isArray(produced)) {
          for (let j = 0; j < produced.length; j++) emit(st, i + 1, produced[j], key, origin);
        } else if (produced === undefined || produced === null) {
          // Nothing to emit, as with an empty array.
        } else if (typeof produced !== "string" && typeof produced[Symbol.iterator] === "function") {
          for (const item of produced) emit(st, i + 1, item, key, origin);
        } else {
          throw new TypeError("flatMap() function (UDF " + udf + ") returned " + String(produced) +
              "; it must return an array (or another iterable) of the elements to emit");
        }
        return;
      }
    }
    if (st.json) {
      st.out.push(toJson(v));
    } else if (typeof v === "object" && v !== null) {
      // From the first object on, every output goes as JSON text (made now: see the top).
      const out = st.out;
      for (let j = 0; j < out.length; j++) out[j] = toJson(out[j]);
      st.json = true;
      out.push(toJson(v));
    } else {
      st.out.push(v);
    }
    if (st.wantKeys) st.keys.push(key);
    st.origins.push(origin);
  };

  // What a call produced: [outputs, keys or undefined, Int32Array of origins], each packed.
  const take = (st) => {
    const r = [pack(st.out, st.json), st.wantKeys ? pack(st.keys, false) : undefined,
               Int32Array.from(st.origins)];
    st.out = []; st.keys = []; st.origins = []; st.json = false;
    return r;
  };

  // Adds elements [from, n) of values: the key of element i is values[i] where same[i] is 1,
  // else keys[i]; the origin of its outputs is origins[i] (or i). Without arguments, adds the
  // elements rollingChainKeys kept. pos.index names a failing element.
  h.rollingAdd = (id, keys, same, values, from, origins, wantKeys) => {
    const st = states.get(id), s = st.spec, accs = st.accs;
    st.wantKeys = wantKeys;
    if (values === undefined) {
      const p = st.pending;
      keys = p[0]; same = p[1]; values = p[2]; origins = p[3];
    }
    pos.kind = s.reduce >= 0 ? "reduce" : "aggregate";
    pos.output = st.out;
    const n = values.length;
    for (let i = from; i < n; i++) {
      pos.index = i;
      st.mark = st.out.length;
      const v = values[i];
      const key = same !== undefined && same[i] === 1 ? v : keys[i];
      const kid = idOf(key);
      let e = accs.get(kid), r;
      if (s.reduce >= 0) {
        pos.udf = s.reduce;
        pos.kind = "reduce";
        if (e === undefined) {
          e = { key, acc: v };
          accs.set(kid, e);
        } else {
          e.acc = udfs[s.reduce](e.acc, v);
        }
        r = e.acc;
      } else {
        pos.kind = "aggregate";
        let acc;
        if (e === undefined) { pos.udf = s.create; acc = udfs[s.create](); }
        else acc = e.acc;
        pos.udf = s.add;
        acc = udfs[s.add](v, acc);
        if (e === undefined) { e = { key, acc }; accs.set(kid, e); }
        else e.acc = acc;
        pos.udf = s.result;
        r = udfs[s.result](acc);
      }
      emit(st, 0, r, key, origins === undefined ? i : origins[i]);
    }
    pos.index = -1;
    st.pending = undefined;
    return take(st);
  };

  // After a failing element: the outputs of the elements before it.
  h.rollingTakeBefore = (id) => {
    const st = states.get(id);
    st.out.length = st.mark;
    st.keys.length = Math.min(st.keys.length, st.mark);
    st.origins.length = st.mark;
    return take(st);
  };
  // Element i of the elements rollingChainKeys kept (a dead letter).
  h.rollingPendingValue = (id, i) => states.get(id).pending[2][i];

  // A fused chain and keyBy in front: computes their outputs and keys over `input` and keeps
  // them for rollingAdd (no state changes, so the host can redo the batch step by step when a
  // chain or key function throws). origins: an array to track inputs with, or undefined.
  h.rollingChainKeys = (id, chain, keyUdf, input, origins) => {
    const st = states.get(id);
    const out = chain(input, origins);
    const f = udfs[keyUdf], n = out.length, keys = new Array(n), same = new Uint8Array(n);
    pos.udf = keyUdf; pos.kind = "keyBy"; pos.output = keys; pos.outputLength = 0;
    for (let i = 0; i < n; i++) {
      pos.index = i;
      const k = f(out[i]);
      if (k === out[i]) same[i] = 1; else keys[i] = k;
    }
    pos.index = -1;
    st.pending = [keys, same, out, origins];
  };

  // The state as [keys, accs]; and back (the host keeps only the keys this subtask owns).
  h.rollingSnapshot = (id) => {
    const st = states.get(id), keys = [], accs = [];
    for (const e of st.accs.values()) { keys.push(e.key); accs.push(e.acc); }
    return [keys, accs];
  };
  h.rollingRestore = (id, keys, accs) => {
    const st = states.get(id);
    for (let i = 0; i < keys.length; i++) st.accs.set(idOf(keys[i]), { key: keys[i], acc: accs[i] });
  };
}))js";

}  // namespace lightflus::js
