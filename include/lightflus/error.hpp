// Errors raised by Lightflus.
//
// Every failure the engine reports is an exception derived from lightflus::Error. Subclasses
// exist where callers branch on them: a bad job definition (ConfigError), malformed input
// data (InputError), an exception thrown by user code (UserCodeError), an external system
// (ConnectorError), and a failed job as a whole (JobFailedError). Messages say what happened,
// where (job, operator, file:line) and, where it helps, what to do.
#pragma once

#include <stdexcept>
#include <string>

/// Marks what the compiled library exports; everything else is hidden, so Lightflus embeds
/// safely in processes that load their own copies of its dependencies.
#define LIGHTFLUS_API __attribute__((visibility("default")))

namespace lightflus {

/// Base class of every exception Lightflus throws.
class LIGHTFLUS_API Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A job, operator or option was defined wrongly (caught before or while the job starts).
class LIGHTFLUS_API ConfigError : public Error {
 public:
  using Error::Error;
};

/// Input data could not be decoded (a malformed JSON line, a CSV row with too few fields, a
/// value of the wrong type). The message names the file and line or the record's origin.
class LIGHTFLUS_API InputError : public Error {
 public:
  using Error::Error;
};

/// A Value was read as a type it does not hold, e.g. asString() on a number.
class LIGHTFLUS_API TypeError : public Error {
 public:
  using Error::Error;
};

/// An exception escaped a user function (map, filter, reduce, ...).
class LIGHTFLUS_API UserCodeError : public Error {
 public:
  using Error::Error;
};

/// An external system (a file, Kafka, a database) failed.
class LIGHTFLUS_API ConnectorError : public Error {
 public:
  using Error::Error;
};

/// A running job failed; what() names the job, the operator and subtask, and the cause.
class LIGHTFLUS_API JobFailedError : public Error {
 public:
  JobFailedError(std::string job, std::string op, std::string cause, const std::string& message)
      : Error(message), job_(std::move(job)), operator_(std::move(op)), cause_(std::move(cause)) {}
  const std::string& job() const noexcept { return job_; }
  /// The name of the operator whose subtask failed first.
  const std::string& operatorName() const noexcept { return operator_; }
  /// The original error message, without the job/operator prefix.
  const std::string& cause() const noexcept { return cause_; }

 private:
  std::string job_;
  std::string operator_;
  std::string cause_;
};

}  // namespace lightflus
