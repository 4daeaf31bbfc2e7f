// Dead letters per operator. A JavaScript job counts its dead letters by writer: the name of
// the operator whose UDF failed, or for a source "operator N 'name' (kind)" (js::JsJob). These
// functions attribute them to the operators of the job's metrics, for `lightflusd run`'s
// report at exit and the REST API's per-operator `deadLetters`.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lightflus/executor.hpp"

namespace lightflus::server {

/// The operator of `metrics` that wrote the dead letters of `writer`: the one of that name, or
/// else the one chain whose name ("a+b+c") holds it (a UDF fused into a chain has no metrics of
/// its own); nullptr when there is none or more than one.
const OperatorMetrics* writerOf(const std::vector<OperatorMetrics>& metrics,
                                std::string_view writer);

/// Dead letters by operator id (only operators that wrote some); letters whose writer matches
/// no single operator are left out.
std::map<int, std::uint64_t> deadLettersByOperator(
    const std::vector<OperatorMetrics>& metrics,
    const std::map<std::string, std::uint64_t>& by_writer);

}  // namespace lightflus::server
