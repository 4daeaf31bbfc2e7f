#include "js_operators.hpp"

#include "strings.hpp"

namespace lightflus::js {

// ---------------------------------------------------------------------------------------------
// JsCallSite

JsCallSite::JsCallSite(std::shared_ptr<JsJob> job, std::string operator_name)
    : job_(std::move(job)),
      operator_name_(std::move(operator_name)),
      label_("operator '" + operator_name_ + "'") {}

JsCallSite::~JsCallSite() {
  close();
}

v8::Local<v8::Value> JsCallSite::position(std::string_view name) {
  JsIsolate& js = worker_->js();
  return worker_->chainPosition()
      ->Get(js.context(), toJsString(js.isolate(), name))
      .ToLocalChecked();
}

std::size_t JsCallSite::positionIndex(std::string_view name) {
  v8::Local<v8::Value> value = position(name);
  double index = value->IsNumber() ? value.As<v8::Number>()->Value() : -1;
  return index < 0 ? 0 : static_cast<std::size_t>(index);
}

std::size_t JsCallSite::failedElement(const UserCodeError& error) {
  // JsIsolate::call labelled the message with label_; the error belongs to the operator whose
  // UDF threw, which in a fused chain may be another one.
  std::string_view message = error.what();
  std::string prefix = label_ + ": ";
  if (message.starts_with(prefix)) message.remove_prefix(prefix.size());
  v8::Local<v8::Value> udf = position("udf");
  std::string op =
      udf->IsNumber()
          ? job_->operatorOfUdf(static_cast<int>(udf.As<v8::Number>()->Value()), operator_name_)
          : operator_name_;
  v8::Local<v8::Value> index = position("index");
  // Limits (time, heap) and cancellation end the job whatever the policy: they are not about
  // one record.
  bool about_the_record = !worker_->js().outOfMemory() &&
                          message.find("time limit") == std::string_view::npos &&
                          message.find("execution was terminated") == std::string_view::npos &&
                          index->IsNumber() && index.As<v8::Number>()->Value() >= 0;
  if (job_->options().on_error != ErrorPolicy::kDeadLetter || !about_the_record)
    throw detail::OperatorFailure(op, std::string(message));
  last_error_ = std::string(message);
  last_operator_ = std::move(op);
  return static_cast<std::size_t>(index.As<v8::Number>()->Value());
}

void JsCallSite::deadLetter(const Value& record) {
  job_->deadLetter(last_operator_, last_error_, record);
}

v8::Local<v8::Int32Array> toInt32Array(v8::Isolate* isolate,
                                       const std::vector<std::int32_t>& values) {
  std::size_t bytes = values.size() * sizeof(std::int32_t);
  v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, bytes);
  if (bytes > 0) std::memcpy(buffer->GetBackingStore()->Data(), values.data(), bytes);
  return v8::Int32Array::New(buffer, 0, values.size());
}

// ---------------------------------------------------------------------------------------------
// JsWindowFunction

JsCallSite& JsWindowFunction::site() const {
  if (!site_) site_ = std::make_shared<JsCallSite>(job_, operator_name_);
  return *site_;
}

void JsWindowFunction::fold(JsWindowAccumulator& acc) const {
  if (acc.pending.empty() && (acc.has || reduce_udf_ >= 0)) return;
  JsCallSite& site = this->site();
  detail::guarded(operator_name_, [&] {
    JsIsolate& js = site.current().js();
    JsIsolate::Scope scope(js);
    v8::Isolate* isolate = js.isolate();
    v8::TryCatch try_catch(isolate);
    ValueConverter convert(isolate, js.context());
    std::size_t from = 0;
    for (;;) {
      v8::HandleScope handles(isolate);
      v8::Local<v8::Value> acc_js =
          acc.has ? convert.toJs(acc.acc) : v8::Undefined(isolate).As<v8::Value>();
      v8::Local<v8::Value> has = v8::Boolean::New(isolate, acc.has);
      v8::Local<v8::Array> values =
          convert.toJsArray(acc.pending, from, [](const Value& v) -> const Value& { return v; });
      try {
        v8::Local<v8::Value> result;
        if (reduce_udf_ >= 0) {
          v8::Local<v8::Value> args[] = {v8::Number::New(isolate, reduce_udf_), has, acc_js,
                                         values};
          result =
              js.call(site.label(), site.worker().helper("fold"), v8::Undefined(isolate), args);
        } else {
          v8::Local<v8::Value> args[] = {v8::Number::New(isolate, aggregate_.create),
                                         v8::Number::New(isolate, aggregate_.add), has, acc_js,
                                         values};
          result = js.call(site.label(), site.worker().helper("aggregateAdd"),
                           v8::Undefined(isolate), args);
        }
        acc.acc = convert.fromJs(result);
        acc.has = true;
        break;
      } catch (const UserCodeError& error) {
        std::size_t failed = from + site.failedElement(error);
        if (site.position("has")->IsTrue()) {
          acc.acc = convert.fromJs(site.position("acc"));
          acc.has = true;
        }
        site.deadLetter(acc.pending[failed]);
        from = failed + 1;
        if (from >= acc.pending.size()) break;
      }
    }
    acc.pending.clear();
  });
}

Value JsWindowFunction::getResult(const JsWindowAccumulator& acc) const {
  JsWindowAccumulator folded = acc;
  fold(folded);
  if (reduce_udf_ >= 0) return folded.acc;
  JsCallSite& site = this->site();
  Value result;
  detail::guarded(operator_name_, [&] {
    JsIsolate& js = site.current().js();
    JsIsolate::Scope scope(js);
    v8::Isolate* isolate = js.isolate();
    v8::TryCatch try_catch(isolate);
    ValueConverter convert(isolate, js.context());
    v8::Local<v8::Value> args[] = {v8::Number::New(isolate, aggregate_.result),
                                   convert.toJs(folded.acc), v8::Undefined(isolate)};
    try {
      result = convert.fromJs(
          js.call(site.label(), site.worker().helper("call"), v8::Undefined(isolate), args));
    } catch (const UserCodeError& error) {
      site.failedElement(error);  // throws unless dead-lettering; a result has no record
      throw detail::OperatorFailure(operator_name_, error.what());
    }
  });
  return result;
}

Value JsWindowFunction::applyWindow(int udf, const Value& key, Timestamp start, Timestamp end,
                                    Value result) const {
  JsCallSite& site = this->site();
  Value out;
  detail::guarded(operator_name_, [&] {
    JsIsolate& js = site.current().js();
    JsIsolate::Scope scope(js);
    v8::Isolate* isolate = js.isolate();
    v8::HandleScope handles(isolate);
    v8::TryCatch try_catch(isolate);
    ValueConverter convert(isolate, js.context());
    v8::Local<v8::Value> window_args[] = {v8::Number::New(isolate, static_cast<double>(start)),
                                          v8::Number::New(isolate, static_cast<double>(end))};
    v8::Local<v8::Value> window;
    if (!site.worker()
             .helper("TimeWindow")
             ->NewInstance(js.context(), 2, window_args)
             .ToLocal(&window))
      throw Error("internal error: cannot make a TimeWindow");
    v8::Local<v8::Value> args[] = {v8::Number::New(isolate, udf), convert.toJs(key), window,
                                   convert.toJs(result)};
    try {
      v8::Local<v8::Value> r =
          js.call(site.label(), site.worker().helper("call"), v8::Undefined(isolate), args);
      // An iterable result (window process()) goes as an array; the planner flattens it.
      if (!r->IsArray() && r->IsObject() && !r->IsNull()) {
        v8::Local<v8::Value> from_args[] = {r};
        v8::Local<v8::Object> array_ctor = js.context()
                                               ->Global()
                                               ->Get(js.context(), toJsString(isolate, "Array"))
                                               .ToLocalChecked()
                                               .As<v8::Object>();
        v8::Local<v8::Value> from;
        if (array_ctor->Get(js.context(), toJsString(isolate, "from")).ToLocal(&from) &&
            from->IsFunction() && r->IsObject() &&
            !r.As<v8::Object>()
                 ->Get(js.context(), v8::Symbol::GetIterator(isolate))
                 .ToLocalChecked()
                 ->IsUndefined())
          r = js.call(site.label(), from.As<v8::Function>(), array_ctor, from_args);
      }
      out = convert.fromJs(r);
    } catch (const UserCodeError& error) {
      site.failedElement(error);  // throws unless dead-lettering; a result has no record
      throw detail::OperatorFailure(operator_name_, error.what());
    }
  });
  return out;
}

void JsWindowFunction::merge(JsWindowAccumulator& acc, const JsWindowAccumulator& other) const {
  JsWindowAccumulator b = other;
  fold(acc);
  fold(b);
  if (!b.has) return;
  if (!acc.has) {
    acc = std::move(b);
    return;
  }
  int udf = reduce_udf_ >= 0 ? reduce_udf_ : aggregate_.merge;
  if (udf < 0)
    throw detail::OperatorFailure(operator_name_,
                                  "session windows merge: the aggregate needs merge(a, b)");
  JsCallSite& site = this->site();
  detail::guarded(operator_name_, [&] {
    JsIsolate& js = site.current().js();
    JsIsolate::Scope scope(js);
    v8::Isolate* isolate = js.isolate();
    v8::TryCatch try_catch(isolate);
    ValueConverter convert(isolate, js.context());
    v8::Local<v8::Value> args[] = {v8::Number::New(isolate, udf), convert.toJs(acc.acc),
                                   convert.toJs(b.acc)};
    try {
      acc.acc = convert.fromJs(
          js.call(site.label(), site.worker().helper("call"), v8::Undefined(isolate), args));
    } catch (const UserCodeError& error) {
      site.failedElement(error);
      throw detail::OperatorFailure(operator_name_, error.what());
    }
  });
}

}  // namespace lightflus::js
