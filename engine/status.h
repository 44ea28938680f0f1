// Status and Result<T>: how hooksim reports errors without exceptions.
//
// Engine and storage code return a Status (or a Result<T>, a value or a Status). Exceptions are used only at
// the edges (CLI, JSON parsing of user input), where they are turned into a Status or an exit code.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace hooksim {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk,
    kInvalidArgument,     // bad input: the message names the field and the reason
    kNotFound,            // the named thing does not exist
    kAlreadyExists,       // a create with an id that is taken
    kFailedPrecondition,  // the operation does not apply to the current state
    kIOError,             // the store or the OS failed
    kCorruption,          // stored bytes could not be decoded
  };

  // An OK status; cheap to create and copy.
  Status() = default;
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) { return Status(Code::kInvalidArgument, std::move(msg)); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status AlreadyExists(std::string msg) { return Status(Code::kAlreadyExists, std::move(msg)); }
  static Status FailedPrecondition(std::string msg) {
    return Status(Code::kFailedPrecondition, std::move(msg));
  }
  static Status IOError(std::string msg) { return Status(Code::kIOError, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  // The human-readable reason; empty when ok().
  const std::string& message() const { return message_; }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// Either a value of type T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  // REQUIRES: !status.ok()
  Result(Status status) : v_(std::move(status)) {}

  bool ok() const { return std::holds_alternative<T>(v_); }
  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  // OK when ok(), the error otherwise.
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace hooksim

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define HOOKSIM_RETURN_IF_ERROR(expr) \
  do {                                \
    ::hooksim::Status _st = (expr);   \
    if (!_st.ok()) return _st;        \
  } while (0)
